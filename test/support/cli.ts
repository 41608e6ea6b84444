import { Readable, Writable } from 'node:stream';
import { runCli } from '../../src/cli/program.ts';

/** A stream that keeps what is written to it. */
function collector() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * A `custos` command run in this process, with its own environment, input and
 * output: the same code path as bin/custos without the cost of a cold start
 * (about 1.5 s a command). The CLI's tests use this; a spawned process is kept
 * for what only a process shows (start-up, exit codes, serve).
 */
export async function runCustosInProcess(args: string[], options: { env: Record<string, string>; input?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(args, { env: options.env, stdin: Readable.from(options.input === undefined ? [] : [options.input]), stdout: stdout.stream, stderr: stderr.stream, exitCode: 0 });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
