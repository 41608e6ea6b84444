import { policyTerm } from '../../http/openapi.ts';
import { z } from 'zod';
import { isIanaTimeZone, TIME_ZONE_MESSAGE } from '../../shared/time-zone.ts';

// Reserved keys such as "__proto__" are refused for every route in http/route.ts.
const fieldKey = z.string().min(1).max(64);

const timeZone = z.string().max(64).refine(isIanaTimeZone, TIME_ZONE_MESSAGE);

export const identifierValueSchema = z.string().trim().min(1, 'must not be empty').max(254);
/** Attribute values: scalars or short lists. `null` removes the attribute. */
export const attributeValueSchema = z.union([z.string().max(2000), z.number().finite(), z.boolean(), z.array(z.string().max(200)).max(100), z.null()]);
export type AttributeValue = Exclude<z.infer<typeof attributeValueSchema>, null>;

const identifiers = z.record(fieldKey, identifierValueSchema).refine((r) => Object.keys(r).length <= 20, 'at most 20 identifiers');
const attributes = z.record(fieldKey, attributeValueSchema).refine((r) => Object.keys(r).length <= 100, 'at most 100 attributes');

export const subjectCreateSchema = z
  .strictObject({
    purpose: policyTerm('purpose', z.string().min(1).max(64)),
    identifiers: identifiers.refine((r) => Object.keys(r).length > 0, 'name at least one identifier, so the same person is recognised next time'),
    attributes: attributes.default({}),
    timezone: timeZone.optional(),
  })
  .openapi('SubjectWrite');

export const subjectUpdateSchema = z
  .strictObject({
    purpose: policyTerm('purpose', z.string().min(1).max(64)),
    identifiers: identifiers.default({}),
    attributes: attributes.default({}),
    timezone: timeZone.optional(),
  })
  .openapi('SubjectUpdate');

export type SubjectWriteInput = z.infer<typeof subjectUpdateSchema>;

export const refParamsSchema = z.object({ ref: z.string().max(100) });
export const purposeQuerySchema = z.strictObject({
  purpose: policyTerm('purpose', z.string().min(1).max(64)),
  recipient: z.string().min(1).max(200).optional().describe('the brand or partner the data is read for; a consent narrowed to recipients covers only them'),
});
export const lookupQuerySchema = z.object({ purpose: policyTerm('purpose', z.string().min(1).max(64)) }).catchall(z.string().max(254));

export const subjectWriteResultSchema = z
  .object({ ref: z.string(), created: z.boolean().describe('true when this app did not know the person before'), changed: z.array(z.string()).describe('the fields whose stored value changed') })
  .openapi('SubjectWriteResult');
export const subjectViewSchema = z
  .object({
    ref: z.string(),
    purpose: z.string(),
    attributes: z.record(z.string(), z.unknown()),
    identifiers: z.record(z.string(), z.string()).describe('pseudonyms (psn_…) of the identifiers this purpose reads; never raw values'),
    timezone: z.string().nullable(),
  })
  .openapi('SubjectView');
export const lookupResultSchema = z.object({ ref: z.string() }).openapi('SubjectLookupResult');
