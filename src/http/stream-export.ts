import type { Response } from 'express';

/**
 * Streams an export with back-pressure: `run` writes chunks; the status and
 * headers go with the first one. Before the first byte an error is an
 * ordinary problem answer; after it, the stream is cut (the client sees a
 * truncated body, never a partial one that looks whole). A client that goes
 * away stops the export at its next write.
 */
export async function streamExport(res: Response, headers: Record<string, string>, run: (write: (chunk: string) => Promise<void>) => Promise<void>): Promise<void> {
  let started = false;
  let closed = false;
  res.on('close', () => (closed = true));
  const write = async (chunk: string) => {
    if (closed) throw new Error('client went away');
    if (!started) {
      started = true;
      res.status(200).set(headers);
    }
    if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  };
  try {
    await run(write);
  } catch (error) {
    if (!started) throw error;
    res.destroy();
    return;
  }
  if (!started) res.status(200).set(headers);
  res.end();
}
