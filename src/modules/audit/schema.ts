import { z } from 'zod';

export const auditDecisions = ['allow', 'deny', 'info'] as const;

export const auditReasonSchema = z.object({ code: z.string(), detail: z.string().optional() });
export type AuditReason = z.infer<typeof auditReasonSchema>;

/** What a module tells the audit core about one access or decision. Names, never values. */
export interface AuditEventInput {
  /** `<module>.<noun>.<verb>`, e.g. `auth.token.issue`. */
  action: string;
  decision: (typeof auditDecisions)[number];
  /** Subject pseudonym (never a raw identifier). */
  subject?: string;
  purpose?: string;
  fields?: string[];
  reasons?: AuditReason[];
}

export const auditEventSchema = z
  .object({
    leafIndex: z.number().int().nullable().describe('0-based position in the log; null for the few milliseconds before the integrator places it'),
    id: z.string(),
    at: z.string(),
    actor: z.object({ type: z.string(), id: z.string().nullable() }),
    action: z.string(),
    decision: z.enum(auditDecisions),
    subject: z.string().nullable().describe('subject pseudonym'),
    purpose: z.string().nullable(),
    fields: z.array(z.string()),
    reasons: z.array(auditReasonSchema),
    requestId: z.string().nullable(),
    policyVersion: z.string(),
    leafHash: z.string().nullable().describe('RFC 9162 leaf hash, hex'),
  })
  .openapi('AuditEvent');
export type AuditEvent = z.infer<typeof auditEventSchema>;
