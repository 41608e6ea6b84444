import { z } from 'zod';
import { isIanaTimeZone, TIME_ZONE_MESSAGE } from '../../shared/time-zone.ts';
import { parseDuration } from './duration.ts';

const name = z.string().regex(/^[a-z][a-zA-Z0-9-]{0,63}$/, 'must start with a lower-case letter and hold only letters, digits and "-"');
const uniqueNames = z.array(name).refine((list) => new Set(list).size === list.length, 'must not repeat a name');
const isoDuration = z.string().refine((v) => parseDuration(v) !== undefined, 'must be an ISO 8601 duration such as P1D, P7D, PT12H or P2Y');
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time "HH:MM"');
const timeZone = z.string().refine(isIanaTimeZone, TIME_ZONE_MESSAGE);

export const fieldSchema = z.strictObject({
  kind: z.enum(['identifier', 'attribute']),
  normalize: z.enum(['phone', 'email', 'trim']).optional(),
  sensitive: z.boolean().default(false),
  description: z.string().optional(),
});

export const lawfulBases = ['consent', 'contract', 'legal-obligation', 'legitimate-interest', 'vital-interest', 'public-task'] as const;

export const purposeSchema = z.strictObject({
  description: z.string().optional(),
  basis: z.enum(lawfulBases),
  collect: uniqueNames.default([]),
  read: uniqueNames.default([]),
  reveal: uniqueNames.default([]),
  channels: uniqueNames.default([]),
  topics: uniqueNames.default([]),
  /** Brands or partners a consent may be narrowed to; grants, reads and contacts may name only these (none when empty). */
  recipients: uniqueNames.default([]),
  retention: isoDuration.optional(),
  /** Selling or sharing personal data; a Global Privacy Control signal opts out of it. */
  sale: z.boolean().default(false),
});

export const limitSchema = z.strictObject({
  channel: name,
  purposes: uniqueNames.optional(),
  max: z.number().int().positive(),
  per: isoDuration,
});

const quietWindowSchema = z.strictObject({ start: clockTime, end: clockTime });

/** One file in the policy dir: any subset of the top-level keys. */
export const policyFileSchema = z.strictObject({
  defaults: z.strictObject({ region: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 region such as CN'), timezone: timeZone }).optional(),
  fields: z.record(name, fieldSchema).optional(),
  channels: uniqueNames.optional(),
  purposes: z.record(name, purposeSchema).optional(),
  limits: z.array(limitSchema).optional(),
  quietHours: z.record(name, quietWindowSchema).optional(),
  doNotCall: z.strictObject({ channels: uniqueNames.default([]), exemptPurposes: uniqueNames.default([]) }).optional(),
  requests: z
    .strictObject({
      deadline: isoDuration,
      /** How the privacy center names each topic to people, per language it speaks; the topic's name otherwise. */
      topicLabels: z.record(name, z.strictObject({ en: z.string().min(1).max(100).optional(), 'zh-CN': z.string().min(1).max(100).optional() })).default({}),
    })
    .optional(),
});

export type PolicyFile = z.infer<typeof policyFileSchema>;
export type FieldDefinition = z.infer<typeof fieldSchema>;
export type PurposeDefinition = z.infer<typeof purposeSchema>;
export type LimitDefinition = z.infer<typeof limitSchema>;

/** The merged policy Custos runs with. */
export interface Policy {
  defaults: { region: string; timezone: string };
  fields: Record<string, FieldDefinition>;
  channels: string[];
  purposes: Record<string, PurposeDefinition>;
  limits: LimitDefinition[];
  quietHours: Record<string, { start: string; end: string }>;
  doNotCall: { channels: string[]; exemptPurposes: string[] };
  requests: { deadline: string; topicLabels: Record<string, { en?: string; 'zh-CN'?: string }> };
}

export interface LoadedPolicy {
  policy: Policy;
  /** Hash of the canonical form; every audit event records it. */
  version: string;
  files: string[];
}
