import { policyTerm } from '../../http/openapi.ts';
import { z } from 'zod';

const uniqueNames = (max: number) =>
  z
    .array(z.string().min(1).max(64))
    .min(1, 'name at least one, or leave the key out for all')
    .max(max)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry');

export const consentGrantSchema = z
  .strictObject({
    channels: uniqueNames(20).optional(),
    topics: uniqueNames(100).optional(),
    recipients: z
      .array(z.string().min(1).max(200))
      .max(50)
      .refine((list) => new Set(list).size === list.length, 'must not repeat an entry')
      .optional(),
    /** Where the consent was given: e.g. web-form, call-centre, paper, customer-portal. */
    source: z.string().min(1).max(100),
    /** Version of the privacy notice the person was shown. */
    noticeVersion: z.string().min(1).max(100),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi('ConsentGrant');

export const consentWithdrawSchema = z
  .strictObject({
    channels: uniqueNames(20).optional(),
    topics: uniqueNames(100).optional(),
    /** Brands or partners the person no longer wants to hear from for this purpose. */
    recipients: uniqueNames(50).optional(),
    source: z.string().min(1).max(100).default('app'),
  })
  .openapi('ConsentWithdrawal');

export type ConsentGrantInput = z.infer<typeof consentGrantSchema>;
export type ConsentWithdrawInput = z.infer<typeof consentWithdrawSchema>;

export const consentStateSchema = z
  .object({
    purpose: z.string(),
    status: z.enum(['active', 'withdrawn', 'expired', 'none']),
    channels: z.array(z.string()),
    topics: z.array(z.string()),
    /** Channels and topics the person took back since the last grant (as opposed to never granted). */
    withdrawnChannels: z.array(z.string()),
    withdrawnTopics: z.array(z.string()),
    /** Recipients the consent covers; empty means every recipient except those withdrawn. */
    recipients: z.array(z.string()),
    withdrawnRecipients: z.array(z.string()),
    source: z.string().nullable(),
    noticeVersion: z.string().nullable(),
    grantedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    changedAt: z.string().nullable(),
  })
  .openapi('ConsentState');
export type ConsentState = z.infer<typeof consentStateSchema>;

export const consentHistoryEntrySchema = z.object({
  seq: z.number().int(),
  purpose: z.string(),
  kind: z.enum(['grant', 'narrow', 'withdraw', 'expire']),
  channels: z.array(z.string()).nullable(),
  topics: z.array(z.string()).nullable(),
  recipients: z.array(z.string()).nullable(),
  source: z.string(),
  noticeVersion: z.string().nullable(),
  expiresAt: z.string().nullable(),
  gpc: z.boolean(),
  receiptId: z.string().nullable(),
  at: z.string(),
});
export type ConsentHistoryEntry = z.infer<typeof consentHistoryEntrySchema>;

export const consentGrantResultSchema = z.object({
  state: consentStateSchema,
  receipt: z.string().describe('compact JWS (EdDSA) with Kantara Consent Receipt v1.1 claims; verify with /.well-known/jwks.json'),
});
export const consentStateResultSchema = z.object({ state: consentStateSchema });
export const consentListSchema = z.object({ ref: z.string(), purposes: z.array(consentStateSchema), history: z.array(consentHistoryEntrySchema) });
export const consentParamsSchema = z.object({ ref: z.string().max(100), purpose: policyTerm('purpose', z.string().max(64)) });
export const refOnlyParamsSchema = z.object({ ref: z.string().max(100) });
