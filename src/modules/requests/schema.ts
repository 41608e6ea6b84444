import { z } from 'zod';
import { attributeValueSchema } from '../subjects/schema.ts';

export const requestTypes = ['access', 'opt-out', 'correction', 'erasure'] as const;
export type RequestType = (typeof requestTypes)[number];

/**
 * Where a request stands. pending-verification → (code) → completed (access,
 * opt-out) or pending-approval (correction, erasure) → approved → completed,
 * or → rejected; locked after too many wrong codes; expired when the code ran
 * out unused. `approved` is the decision taken and its effect being applied:
 * the decision is recorded first, so the data always matches it (a crash
 * before completion is carried on by the sweep).
 */
export const requestStatuses = ['pending-verification', 'verified', 'pending-approval', 'approved', 'completed', 'rejected', 'locked', 'expired'] as const;
export type RequestStatus = (typeof requestStatuses)[number];
export const CLOSED_STATUSES: readonly RequestStatus[] = ['completed', 'rejected', 'locked', 'expired'];

const names = z.array(z.string().min(1).max(64)).min(1).max(50);

export const submissionSchema = z
  .strictObject({
    type: z.enum(requestTypes),
    identifier: z
      .record(z.string().min(1).max(64), z.string().trim().min(1, 'must not be empty').max(254))
      .refine((r) => Object.keys(r).length === 1, 'name exactly one identifier, e.g. {"phone": "+8613800138000"}; the code goes to it'),
    scope: z
      .strictObject({ purposes: names.optional(), channels: names.optional(), topics: names.optional() })
      .optional()
      .describe('opt-out only: what to stop; every consent-based purpose when absent'),
    correction: z
      .record(
        z.string().min(1).max(64),
        attributeValueSchema.refine((v) => v !== null, 'must be the right value; to remove a value, ask for erasure'),
      )
      .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 50, 'name 1 to 50 fields')
      .optional()
      .describe('correction only: the fields to change and their right values'),
    locale: z.enum(['en', 'zh-CN']).optional().describe('language of the message with the code'),
  })
  .openapi('PrivacyRequestSubmission');
export type Submission = z.infer<typeof submissionSchema>;
export type RequestScope = NonNullable<Submission['scope']>;

export const submittedSchema = z
  .object({
    id: z.string(),
    status: z.enum(requestStatuses),
    statusToken: z.string().describe('send as "Authorization: Bearer <statusToken>" to follow the request and download the export'),
    dueAt: z.string(),
  })
  .openapi('PrivacyRequestSubmitted');

export const requestOptionsSchema = z
  .object({
    optOut: z
      .object({ channels: z.array(z.string()), topics: z.array(z.object({ name: z.string(), labels: z.object({ en: z.string().optional(), 'zh-CN': z.string().optional() }) })) })
      .describe("what an opt-out scope may name besides purposes; topics with the policy's labels per language"),
    identifiers: z.array(z.object({ field: z.string(), kind: z.enum(['phone', 'email']) })).describe('identifier fields a person can be reached by for the code'),
    correctable: z.array(z.string()).describe('fields some purpose collects, so a correction may name them'),
  })
  .openapi('PrivacyRequestOptions');

export const verifySchema = z.strictObject({ code: z.string().regex(/^\d{6,10}$/, 'must be the digits of the code that was sent') }).openapi('PrivacyRequestVerification');

export const decisionSchema = z.strictObject({ decision: z.enum(['approve', 'reject']), reason: z.string().trim().min(1).max(500) }).openapi('PrivacyRequestDecision');

export const stepSchema = z.object({ step: z.string(), at: z.string(), actor: z.string(), detail: z.string().nullable() });

export const requestViewSchema = z
  .object({
    id: z.string(),
    type: z.enum(requestTypes),
    status: z.enum(requestStatuses),
    identifierKind: z.string(),
    scope: z.object({ purposes: z.array(z.string()).optional(), channels: z.array(z.string()).optional(), topics: z.array(z.string()).optional() }).nullable(),
    correctionFields: z.array(z.string()).describe('names of the fields to correct (values are shown to the verified person and to agents deciding)'),
    gpc: z.boolean(),
    dueAt: z.string(),
    overdue: z.boolean(),
    createdAt: z.string(),
    closedAt: z.string().nullable(),
    decisionReason: z.string().nullable(),
    steps: z.array(stepSchema),
  })
  .openapi('PrivacyRequest');
export type RequestView = z.infer<typeof requestViewSchema>;

export const queueQuerySchema = z.strictObject({
  status: z.enum(requestStatuses).optional(),
  type: z.enum(requestTypes).optional(),
  overdue: z.enum(['true', 'false']).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
export type QueueQuery = z.infer<typeof queueQuerySchema>;
