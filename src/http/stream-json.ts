import type { Response } from 'express';

const BATCH = 1000;

/**
 * Writes an object whose members are long arrays (a scrub answer of 100,000
 * refs is about 16 MB of JSON) a thousand items at a time, yielding between
 * batches and waiting for the client to drain: serializing it in one go
 * would hold the event loop for about 100 ms.
 */
export async function sendJsonInBatches(res: Response, value: Record<string, unknown[]>, headers: Record<string, string> = {}): Promise<void> {
  res.status(200).set({ ...headers, 'Content-Type': 'application/json; charset=utf-8' });
  const write = async (chunk: string) => {
    if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
  };
  const keys = Object.keys(value);
  await write('{');
  for (const [k, key] of keys.entries()) {
    const items = value[key]!;
    await write(`${k > 0 ? ',' : ''}${JSON.stringify(key)}:[`);
    for (let i = 0; i < items.length; i += BATCH) {
      await write(
        (i > 0 ? ',' : '') +
          items
            .slice(i, i + BATCH)
            .map((item) => JSON.stringify(item))
            .join(','),
      );
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await write(']');
  }
  res.end('}');
}
