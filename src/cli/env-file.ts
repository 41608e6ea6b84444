import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/**
 * The environment a `custos` process runs with: its own, plus the `.env` of
 * the working directory for what its own does not set (the environment wins,
 * as with `node --env-file`). The server and every CLI command read the same
 * file, so a command run beside a server acts on the same database, keys and
 * policy. A file that cannot be read is no error; there may be none.
 */
export function withEnvFile(env: NodeJS.ProcessEnv, cwd: string): Record<string, string | undefined> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(cwd, '.env'), 'utf8');
  } catch {
    return env;
  }
  return { ...parseEnv(text), ...env };
}
