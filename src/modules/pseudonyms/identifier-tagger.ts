import type { Worker } from 'node:worker_threads';
import { typeScriptWorker } from '../../shared/typescript-worker.ts';
import { tagIdentifiers, type TaggedValues, type TaggingSpec } from './identifier-tags.ts';

export interface IdentifierTagger {
  readonly keyVersion: number;
  /** Normalizes and tags a batch; batches may be in flight at once and each answer is its own batch's. */
  tag(values: string[]): Promise<TaggedValues>;
  close(): Promise<void>;
}

// Below this a batch is cheaper to tag here than to send to a thread (a thread costs ~0.3 s to start).
const INLINE_BELOW = 2000;

/**
 * Tags many identifiers on worker threads: normalization (libphonenumber) and
 * the HMAC cost ~7 µs a value, so a registry of ten million numbers needs every
 * core. Threads start on the first batch large enough to need them.
 */
export function createIdentifierTagger(spec: TaggingSpec, threads: number): IdentifierTagger {
  const workers: Worker[] = [];
  const pending = new Map<number, { resolve: (v: TaggedValues) => void; reject: (e: unknown) => void }>();
  let nextId = 0;
  let failure: unknown;
  let closed = false;

  function fail(error: unknown) {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  }

  function startWorker(): Worker {
    // A small young generation: each batch's garbage dies young, and a big one only grows the process.
    const worker = typeScriptWorker(require.resolve('./tagging-worker.ts'), { workerData: spec, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    worker.on('message', (m: { id: number; tags: BigInt64Array; invalid: number }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve({ tags: m.tags, invalid: m.invalid });
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0 && !closed) fail(new Error(`identifier tagging thread exited with code ${code}`));
    });
    return worker;
  }

  return {
    keyVersion: spec.keyVersion,
    async tag(values) {
      if (failure) throw failure;
      if (values.length < INLINE_BELOW || threads < 1) return tagIdentifiers(spec, values);
      if (workers.length < threads) workers.push(startWorker());
      const id = nextId++;
      const worker = workers[id % workers.length]!;
      return new Promise<TaggedValues>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, values });
      });
    },
    async close() {
      closed = true;
      const all = workers.splice(0);
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}
