import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { formatKeyPath } from '../../shared/key-path.ts';
import { policyFileSchema, type LoadedPolicy, type Policy, type PolicyFile } from './schema.ts';

export interface PolicyProblem {
  file: string;
  path: string;
  message: string;
}

/** A policy dir that cannot be loaded; names every file, key path and problem found. */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.path || '(file)'}: ${p.message}`).join('\n'));
  }
}

const MAP_KEYS = ['fields', 'purposes', 'quietHours'] as const;
const SINGLE_KEYS = ['defaults', 'doNotCall', 'requests'] as const;

/** Where each top-level entry came from, so cross-file problems name the right file. */
type Origins = Map<string, string>;

function readFile(file: string, label: string, problems: PolicyProblem[]): PolicyFile | undefined {
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push({ file: label, path: '', message: `YAML: ${e.message.split('\n')[0]}` });
    return undefined;
  }
  const parsed = policyFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push({ file: label, path: formatKeyPath(issue.path), message: issue.message });
    return undefined;
  }
  return parsed.data;
}

function merge(parts: Array<{ label: string; data: PolicyFile }>, problems: PolicyProblem[]): { merged: Partial<Policy>; origins: Origins } {
  const merged: Partial<Policy> = {};
  const origins: Origins = new Map();
  const claim = (key: string, label: string): boolean => {
    const owner = origins.get(key);
    if (owner) {
      problems.push({ file: label, path: key, message: `already defined in ${owner}` });
      return false;
    }
    origins.set(key, label);
    return true;
  };
  for (const { label, data } of parts) {
    for (const key of SINGLE_KEYS) {
      if (data[key] !== undefined && claim(key, label)) (merged as Record<string, unknown>)[key] = data[key];
    }
    for (const key of MAP_KEYS) {
      for (const [entry, value] of Object.entries(data[key] ?? {})) {
        if (claim(`${key}.${entry}`, label)) ((merged as Record<string, Record<string, unknown>>)[key] ??= {})[entry] = value;
      }
    }
    for (const channel of data.channels ?? []) {
      if (claim(`channels.${channel}`, label)) (merged.channels ??= []).push(channel);
    }
    data.limits?.forEach((limit, i) => {
      origins.set(`limits.${(merged.limits ??= []).length}`, `${label}#limits[${i}]`);
      merged.limits.push(limit);
    });
  }
  return { merged, origins };
}

/** Cross-references between keys that a per-file schema cannot see. */
function checkReferences(p: Partial<Policy>, origins: Origins, problems: PolicyProblem[]): void {
  const fileOf = (key: string) => origins.get(key) ?? '(policy)';
  const report = (key: string, pathText: string, message: string) => problems.push({ file: fileOf(key), path: pathText, message });
  const fields = p.fields ?? {};
  const channels = new Set(p.channels ?? []);
  const purposes = p.purposes ?? {};

  for (const key of ['defaults', 'requests'] as const) {
    if (p[key] === undefined) problems.push({ file: '(policy)', path: key, message: 'is required in one of the policy files' });
  }
  if (Object.keys(purposes).length === 0) problems.push({ file: '(policy)', path: 'purposes', message: 'at least one purpose is required' });

  for (const [purposeName, purpose] of Object.entries(purposes)) {
    const key = `purposes.${purposeName}`;
    purpose.collect.forEach((f, i) => {
      if (!fields[f]) report(key, `${key}.collect[${i}]`, `"${f}" is not a field declared under fields`);
    });
    purpose.read.forEach((f, i) => {
      if (!purpose.collect.includes(f)) report(key, `${key}.read[${i}]`, `"${f}" is read but not in this purpose's collect list`);
    });
    purpose.reveal.forEach((f, i) => {
      if (!purpose.collect.includes(f)) report(key, `${key}.reveal[${i}]`, `"${f}" is revealed but not in this purpose's collect list`);
      else if (fields[f]?.kind !== 'identifier') report(key, `${key}.reveal[${i}]`, `"${f}" is not an identifier; only identifiers are revealed`);
    });
    purpose.channels.forEach((c, i) => {
      if (!channels.has(c)) report(key, `${key}.channels[${i}]`, `unknown channel "${c}"; channels are ${[...channels].join(', ')}`);
    });
  }
  (p.limits ?? []).forEach((limit, i) => {
    const key = `limits.${i}`;
    if (!channels.has(limit.channel)) report(key, `limits[${i}].channel`, `unknown channel "${limit.channel}"`);
    limit.purposes?.forEach((name, j) => {
      if (!purposes[name]) report(key, `limits[${i}].purposes[${j}]`, `unknown purpose "${name}"`);
    });
  });
  for (const channel of Object.keys(p.quietHours ?? {})) {
    if (!channels.has(channel)) report(`quietHours.${channel}`, `quietHours.${channel}`, `unknown channel "${channel}"`);
  }
  p.doNotCall?.channels.forEach((c, i) => {
    if (!channels.has(c)) report('doNotCall', `doNotCall.channels[${i}]`, `unknown channel "${c}"`);
  });
  const topics = new Set(Object.values(purposes).flatMap((purpose) => purpose.topics));
  for (const topic of Object.keys(p.requests?.topicLabels ?? {})) {
    if (!topics.has(topic)) report('requests', `requests.topicLabels.${topic}`, `"${topic}" is not a topic of any purpose`);
  }
  p.doNotCall?.exemptPurposes.forEach((name, i) => {
    if (!purposes[name]) report('doNotCall', `doNotCall.exemptPurposes[${i}]`, `unknown purpose "${name}"`);
  });
}

/** Loads and validates every *.yaml / *.yml file in `dir`. Throws PolicyError listing every problem. */
export function loadPolicy(dir: string): LoadedPolicy {
  const label = (file: string) => path.relative(process.cwd(), file) || file;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new PolicyError([{ file: label(dir), path: '', message: 'policy directory does not exist' }]);
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new PolicyError([{ file: label(dir), path: '', message: 'no .yaml policy files found' }]);

  const problems: PolicyProblem[] = [];
  const parts = files.flatMap((file) => {
    const data = readFile(file, label(file), problems);
    return data ? [{ label: label(file), data }] : [];
  });
  if (problems.length > 0) throw new PolicyError(problems);
  const { merged, origins } = merge(parts, problems);
  checkReferences(merged, origins, problems);
  if (problems.length > 0) throw new PolicyError(problems);

  const policy: Policy = {
    defaults: merged.defaults!,
    fields: merged.fields ?? {},
    channels: merged.channels ?? [],
    purposes: merged.purposes ?? {},
    limits: merged.limits ?? [],
    quietHours: merged.quietHours ?? {},
    doNotCall: merged.doNotCall ?? { channels: [], exemptPurposes: [] },
    requests: merged.requests!,
  };
  const version = createHash('sha256').update(canonicalJson(policy)).digest('hex').slice(0, 16);
  return { policy, version, files: files.map(label) };
}
