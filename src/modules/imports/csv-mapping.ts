import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatKeyPath } from '../../shared/key-path.ts';
import type { Policy } from '../policies/schema.ts';
import { ImportFileError } from './source.ts';

/**
 * A CSV export used as it is: a YAML file says which column holds which
 * field of the import record (SPEC §10). Column names are the header's;
 * scopes, sources and notice versions are written as they are; dates are
 * read from columns (an empty cell: no such event on that row).
 */
const column = z.string().min(1).max(200);
const columnSpec = z.union([column, z.strictObject({ column, split: z.string().min(1).max(5).optional() })]);
const fixedNames = z.array(z.string().min(1).max(64)).min(1).optional();

const consentColumnsSchema = z
  .strictObject({
    purpose: z.string().min(1).max(64),
    grantedAt: column.optional().describe('the column holding the time of the grant'),
    withdrawnAt: column.optional().describe('the column holding the time of a withdrawal'),
    channels: fixedNames,
    topics: fixedNames,
    recipients: fixedNames,
    source: z.string().min(1).max(100).default('import'),
    noticeVersion: z.string().min(1).max(100).optional(),
    evidence: column.optional().describe('the column holding the CRM’s reference to its evidence'),
  })
  .refine((c) => c.grantedAt !== undefined || c.withdrawnAt !== undefined, 'name a grantedAt or withdrawnAt column');

export const csvMappingSchema = z.strictObject({
  delimiter: z.string().min(1).max(1).default(','),
  purpose: z.string().min(1).max(64).describe('the purpose every row is written for'),
  columns: z.record(z.string(), columnSpec).describe('record field (id, identifiers.<field>, attributes.<field>, timezone) → column'),
  consents: z.array(consentColumnsSchema).default([]),
  doNotCall: z.strictObject({ since: column, source: z.string().min(1).max(100).default('import') }).optional(),
  contacts: z.array(z.strictObject({ channel: z.string().min(1).max(64), purpose: z.string().min(1).max(64), topic: z.string().min(1).max(64).optional(), at: column })).default([]),
});

type MappingFile = z.infer<typeof csvMappingSchema>;

export interface CsvMapping {
  delimiter: string;
  /** Every column the mapping reads: each must be in the header. */
  columnsUsed(): string[];
  file: MappingFile;
}

const TARGET = /^(id|timezone|identifiers\.[a-z][a-zA-Z0-9-]{0,63}|attributes\.[a-z][a-zA-Z0-9-]{0,63})$/;

/** Reads and checks a mapping against the policy: an unknown key, field or target is refused before the file is read. */
export function loadCsvMapping(file: string, policy: Policy): CsvMapping {
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ImportFileError([{ path: 'mapping', message: `is not readable YAML (${(error as Error).name})` }]);
  }
  return csvMappingOf(raw, policy);
}

export function csvMappingOf(raw: unknown, policy: Policy): CsvMapping {
  const parsed = csvMappingSchema.safeParse(raw);
  if (!parsed.success) throw new ImportFileError(parsed.error.issues.map((i) => ({ path: formatKeyPath(['mapping', ...i.path]), message: i.message })));
  const mapping = parsed.data;
  const problems: Array<{ path: string; message: string }> = [];
  for (const target of Object.keys(mapping.columns)) {
    if (!TARGET.test(target)) problems.push({ path: `mapping.columns.${target}`, message: 'is not a field of the import record (id, identifiers.<field>, attributes.<field>, timezone)' });
    else if (target.includes('.')) {
      const [kind, name] = target.split('.') as [string, string];
      const field = policy.fields[name];
      if (!field) problems.push({ path: `mapping.columns.${target}`, message: 'names a field the policy does not declare' });
      else if (`${field.kind}s` !== kind) problems.push({ path: `mapping.columns.${target}`, message: `is an ${field.kind} in the policy` });
    }
  }
  if (!mapping.columns.id) problems.push({ path: 'mapping.columns.id', message: "name the column holding the CRM's own id" });
  if (problems.length > 0) throw new ImportFileError(problems);
  const columnOf = (spec: z.infer<typeof columnSpec>) => (typeof spec === 'string' ? spec : spec.column);
  return {
    delimiter: mapping.delimiter,
    file: mapping,
    columnsUsed: () => [
      ...new Set([
        ...Object.values(mapping.columns).map(columnOf),
        ...mapping.consents.flatMap((c) => [c.grantedAt, c.withdrawnAt, c.evidence].filter((x): x is string => x !== undefined)),
        ...(mapping.doNotCall ? [mapping.doNotCall.since] : []),
        ...mapping.contacts.map((c) => c.at),
      ]),
    ],
  };
}

/**
 * One CSV row as an import record. Values are passed on as they are (the
 * record's own checks then refuse what is wrong, by field); an empty cell is
 * an absent value; a date cell that holds no time is left for the record's
 * check to refuse.
 */
export function recordOfCsvRow(mapping: CsvMapping, cells: Map<string, string>): Record<string, unknown> {
  const m = mapping.file;
  const cell = (name: string) => {
    const value = (cells.get(name) ?? '').trim();
    return value === '' ? undefined : value;
  };
  const record: Record<string, unknown> = { purpose: m.purpose, identifiers: {}, attributes: {} };
  const identifiers = record.identifiers as Record<string, unknown>;
  const attributes = record.attributes as Record<string, unknown>;
  for (const [target, spec] of Object.entries(m.columns)) {
    const value = cell(typeof spec === 'string' ? spec : spec.column);
    if (value === undefined) continue;
    const split = typeof spec === 'string' ? undefined : spec.split;
    const typed = split
      ? value
          .split(split)
          .map((v) => v.trim())
          .filter((v) => v !== '')
      : value;
    if (target === 'id' || target === 'timezone') record[target] = value;
    else if (target.startsWith('identifiers.')) identifiers[target.slice('identifiers.'.length)] = value;
    else attributes[target.slice('attributes.'.length)] = typed;
  }
  const scope = (c: { channels?: string[]; topics?: string[]; recipients?: string[] }) => ({
    ...(c.channels ? { channels: c.channels } : {}),
    ...(c.topics ? { topics: c.topics } : {}),
    ...(c.recipients ? { recipients: c.recipients } : {}),
  });
  const consents: unknown[] = [];
  for (const c of m.consents) {
    const evidence = c.evidence ? cell(c.evidence) : undefined;
    const common = { purpose: c.purpose, ...scope(c), source: c.source, ...(evidence ? { evidence } : {}) };
    const grantedAt = c.grantedAt ? cell(c.grantedAt) : undefined;
    const withdrawnAt = c.withdrawnAt ? cell(c.withdrawnAt) : undefined;
    if (grantedAt) consents.push({ ...common, grantedAt, ...(c.noticeVersion ? { noticeVersion: c.noticeVersion } : {}) });
    if (withdrawnAt) consents.push({ ...common, withdrawnAt });
  }
  if (consents.length > 0) record.consents = consents;
  const since = m.doNotCall ? cell(m.doNotCall.since) : undefined;
  if (since) record.doNotCall = { since, source: m.doNotCall!.source };
  const contacts = m.contacts.flatMap((c) => {
    const at = cell(c.at);
    return at ? [{ channel: c.channel, purpose: c.purpose, ...(c.topic ? { topic: c.topic } : {}), at }] : [];
  });
  if (contacts.length > 0) record.contacts = contacts;
  return record;
}
