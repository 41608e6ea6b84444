import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { PolicyError } from '../modules/policies/load.ts';
import { servedPolicyVersions } from '../modules/replicas/membership.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { CustosError, ValidationError } from '../shared/errors.ts';
import type { RequestContext } from '../shared/request-context.ts';
import { MigrationError } from '../storage/migrate.ts';

/** A failure the CLI reports as a message and exit code 1, without a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

/**
 * Where a command reads its configuration and input and writes its output:
 * the process's own (bin/custos), or a test's when commands run in-process.
 * `exitCode` is what the command wants the process to exit with.
 */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<Buffer | string>;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  exitCode: number;
}

export const processIo = (): CliIo => ({ env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, exitCode: 0 });

let current: CliIo = processIo();
/** The io of the command being run (set by runCli). */
export const cliIo = (): CliIo => current;
export const useCliIo = (next: CliIo): void => void (current = next);

export function readConfig(): Config {
  return loadConfig(current.env);
}

/** CLI logs go to stderr so that stdout holds only the command's output (JSON with --json). */
export function cliLogger(config: Config): Logger {
  return createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, current.stderr);
}

/** Opens the same runtime the server uses, runs `work`, and always closes the database. */
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>, options: { integrate?: boolean } = {}): Promise<T> {
  const served = readConfig();
  // Admin commands (imports, key rotation, retention) run statements far longer than a request may:
  // the serving budget (DATABASE_STATEMENT_TIMEOUT_MS) is raised to at least ten minutes for them.
  const config = { ...served, database: { ...served.database, statementTimeoutMs: Math.max(served.database.statementTimeoutMs, 600_000) } };
  // The development-key notice is for `serve`; a CLI command mentions the key only when it creates it.
  const runtime = await createRuntime(config, cliLogger(config), { announceDevelopmentKey: false, ...options });
  try {
    // A command acts on the database it is given: if the servers on it decide by other policy files, say so first.
    const served = (await servedPolicyVersions(runtime.db)).filter((v) => v !== runtime.loaded.version);
    if (served.length > 0) {
      current.stderr.write(
        `custos: note: the servers on this database run policy version ${served.join(', ')}; this command loaded ${runtime.loaded.version} from POLICY_DIR=${config.policyDir}, so it decides by other rules than they do\n`,
      );
    }
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** CLI actions are audited like any other; the actor names the OS user who ran them. */
export function cliContext(runtime: Runtime): RequestContext {
  return { actor: { type: 'system', id: `cli:${os.userInfo().username}` }, requestId: randomUUID(), policyVersion: runtime.loaded.version };
}

export function printJson(value: unknown): void {
  current.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(...lines: string[]): void {
  current.stdout.write(lines.join('\n') + '\n');
}

/** A failure message on stderr, in the CLI's one format. */
export function printProblem(message: string): void {
  current.stderr.write(`custos: ${message}\n`);
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of current.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Known failures become one readable message; anything else is a bug and keeps its stack. */
export function describeCliFailure(error: unknown): string {
  if (error instanceof PolicyError)
    return `policy is not valid:\n${error.message
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}`;
  if (error instanceof ConfigError) return error.message;
  if (error instanceof ValidationError) return `invalid input:\n${error.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`;
  if (error instanceof CustosError) return error.message;
  if (error instanceof MigrationError || error instanceof CliError) return error.message;
  const code = (error as { code?: unknown; port?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `port ${(error as { port?: unknown }).port} is already in use; set PORT to a free port (PORT=0 picks one)`;
  if (code === 'EACCES') return `not allowed to listen on port ${(error as { port?: unknown }).port}; set PORT to a port above 1023`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
