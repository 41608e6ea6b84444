import path from 'node:path';
import { loadPolicy } from '../modules/policies/load.ts';
import { readConfig, printJson, printLines } from './io.ts';

/** Validates a policy dir without touching the database, so it can run in CI before a deploy. */
export async function checkPolicyCommand(dir: string | undefined, options: { json?: boolean }): Promise<void> {
  const target = dir ? path.resolve(dir) : readConfig().policyDir;
  const loaded = loadPolicy(target);
  const purposes = Object.keys(loaded.policy.purposes);
  if (options.json) return printJson({ ok: true, version: loaded.version, files: loaded.files, purposes });
  printLines(`Policy OK: version ${loaded.version}`, `  files:    ${loaded.files.join(', ')}`, `  purposes: ${purposes.join(', ')}`);
}
