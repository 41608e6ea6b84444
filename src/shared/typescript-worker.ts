import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running a TypeScript module: workers do not inherit the
 * TypeScript loader of the thread that starts them, so each registers tsx first.
 * `modulePath` is absolute (the caller's `require.resolve('./x.ts')`).
 */
export function typeScriptWorker(modulePath: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(modulePath)});`;
  return new Worker(bootstrap, { ...options, eval: true });
}
