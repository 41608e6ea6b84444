import { z } from 'zod';
import { isIanaTimeZone, TIME_ZONE_MESSAGE } from '../../shared/time-zone.ts';
import { attributeValueSchema, identifierValueSchema } from '../subjects/schema.ts';

// The import record (SPEC §10): one customer as a CRM holds them, with their consent history,
// a do-not-call flag and recent contacts. Checked as strictly as a live write: unknown keys are errors.

const fieldKey = z.string().min(1).max(64);
const instant = z.iso.datetime({ offset: true });
const names = (max: number) =>
  z
    .array(z.string().min(1).max(64))
    .min(1, 'name at least one, or leave the key out for all')
    .max(max)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry');

const scope = {
  purpose: z.string().min(1).max(64),
  channels: names(20).optional(),
  topics: names(100).optional(),
  recipients: names(50).optional(),
  /** Where it happened in the CRM's terms: web-form, call-centre, paper… */
  source: z.string().min(1).max(100).default('import'),
  /** The CRM's reference to its evidence of the event (a form id, a recording id): kept on the ledger entry. */
  evidence: z.string().min(1).max(200).optional(),
};

export const importedGrantSchema = z.strictObject({
  ...scope,
  grantedAt: instant,
  noticeVersion: z.string().min(1).max(100).optional(),
  expiresAt: instant.optional(),
});
export const importedWithdrawalSchema = z.strictObject({ ...scope, withdrawnAt: instant });
export const importedConsentSchema = z.union([importedGrantSchema, importedWithdrawalSchema]);

export const importedContactSchema = z.strictObject({
  channel: z.string().min(1).max(64),
  purpose: z.string().min(1).max(64),
  topic: z.string().min(1).max(64).optional(),
  at: instant,
});

export const importRecordSchema = z
  .strictObject({
    /** The CRM's own id for the person: handed back beside the ref, never used to match. */
    id: z.string().min(1).max(200),
    /** The purpose the identifiers and attributes are written for (minimal collection). */
    purpose: z.string().min(1).max(64),
    identifiers: z
      .record(fieldKey, identifierValueSchema)
      .refine((r) => Object.keys(r).length > 0, 'name at least one identifier')
      .refine((r) => Object.keys(r).length <= 20, 'at most 20 identifiers'),
    attributes: z
      .record(
        fieldKey,
        attributeValueSchema.refine((v) => v !== null, 'an import sets values; leave the attribute out'),
      )
      .refine((r) => Object.keys(r).length <= 100, 'at most 100 attributes')
      .default({}),
    timezone: z.string().max(64).refine(isIanaTimeZone, TIME_ZONE_MESSAGE).optional(),
    consents: z.array(importedConsentSchema).max(1000).default([]),
    doNotCall: z.strictObject({ since: instant, source: z.string().min(1).max(100).default('import') }).optional(),
    contacts: z.array(importedContactSchema).max(1000).default([]),
  })
  .openapi('ImportRecord');

export type ImportRecord = z.infer<typeof importRecordSchema>;
export type ImportedConsent = z.infer<typeof importedConsentSchema>;
export type ImportedContact = z.infer<typeof importedContactSchema>;

export const importFormats = ['ndjson', 'csv'] as const;
export type ImportFormat = (typeof importFormats)[number];

/** Why a row was refused: its line, the field when one is to blame, and the reason. Never a value. */
export const importErrorSchema = z.object({ line: z.number().int(), field: z.string().optional(), reason: z.string() }).openapi('ImportError');
export type ImportError = z.infer<typeof importErrorSchema>;

export const importCountsSchema = z
  .object({
    created: z.number().int().describe('people new to Custos'),
    updated: z.number().int().describe('people Custos held, with something new: a value, consent history, a flag or a contact'),
    unchanged: z.number().int().describe('rows that bring nothing new (a re-run of the same file)'),
    refused: z.number().int().describe('rows written not at all, each in errors'),
    consentEvents: z.number().int().describe('consent grants and withdrawals entered in ledgers'),
    doNotCall: z.number().int().describe('numbers put on the internal do-not-call list'),
    contacts: z.number().int().describe('recent contacts now counted against frequency caps'),
    contactsTooOld: z.number().int().describe('contacts older than the longest cap window: no cap would count them, so they are not kept'),
  })
  .openapi('ImportCounts');
export type ImportCounts = z.infer<typeof importCountsSchema>;

export const emptyCounts = (): ImportCounts => ({ created: 0, updated: 0, unchanged: 0, refused: 0, consentEvents: 0, doNotCall: 0, contacts: 0, contactsTooOld: 0 });

export const importStatuses = ['running', 'completed', 'failed', 'stopped'] as const;

export const importViewSchema = z
  .object({
    id: z.string(),
    app: z.string(),
    format: z.enum(importFormats),
    status: z.enum(importStatuses).describe('stopped: --max-errors was reached; failed: the run ended on an error and can be resumed'),
    dryRun: z.boolean(),
    linesCommitted: z.number().int(),
    counts: importCountsSchema,
    errors: z.array(importErrorSchema).describe('the first 1,000 refusals'),
    errorCount: z.number().int(),
    startedBy: z.string().nullable(),
    startedAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    refs: z
      .array(z.object({ id: z.string(), ref: z.string() }))
      .optional()
      .describe("the CRM's ids beside the importing app's refs (refs=true)"),
  })
  .openapi('Import');
export type ImportView = z.infer<typeof importViewSchema>;

export const importQuerySchema = z.strictObject({
  app: z.string().min(1).max(100),
  format: z.enum(importFormats).default('ndjson'),
  dryRun: z.enum(['true', 'false']).default('false'),
  maxErrors: z.coerce.number().int().positive().optional(),
  resume: z.string().min(1).max(100).optional().describe('the id of an import to resume: lines it committed are skipped, once checked to be the same'),
});
export const importParamsSchema = z.object({ id: z.string().max(100) });
export const importViewQuerySchema = z.strictObject({ refs: z.enum(['true', 'false']).default('false') });
export const importListSchema = z.object({ imports: z.array(importViewSchema) }).openapi('ImportList');
