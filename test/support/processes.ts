import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './gateway.ts';

export const CUSTOS_BIN = path.join(REPO_ROOT, 'bin', 'custos');

export interface ChildProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a process and resolves once a line of its output matches `ready`.
 * With `keepOutput: false` (benchmarks: a gateway logs every request) output
 * after that line is read and dropped instead of kept.
 */
export function startProcess(args: string[], options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number; keepOutput?: boolean }): Promise<ChildProcess & { match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...options.env } });
  let out = '';
  let err = '';
  let ready = false;
  const keep = () => !ready || options.keepOutput !== false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: ChildProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not become ready in time.\nstdout: ${out}\nstderr: ${err}`));
    }, options.timeoutMs ?? 20_000);
    // Matched until ready only: matching all output on every chunk would cost more the longer the process runs.
    const check = () => {
      if (ready) return;
      const match = (out + err).match(options.ready);
      if (match) {
        ready = true;
        clearTimeout(timer);
        resolve({ ...handle, match });
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      if (keep()) out += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (keep()) err += d.toString();
      check();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before it was ready.\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

/** Runs a command to completion and returns its exit code and output. */
export function runProcess(args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...options.env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${args.join(' ')}\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export const runCustos = (args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}) => runProcess([CUSTOS_BIN, ...args], options);
