import { parentPort } from 'node:worker_threads';
import { inspectJson } from './json-inspection.ts';

/** Inspects and parses large JSON bodies off the event loop (see large-json.ts). */
parentPort!.on('message', (message: { id: number; bytes: Uint8Array }) => {
  const buf = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
  const problem = inspectJson(buf);
  if (problem) {
    parentPort!.postMessage({ id: message.id, problem });
    return;
  }
  try {
    parentPort!.postMessage({ id: message.id, value: JSON.parse(buf.toString('utf8')) as unknown });
  } catch {
    parentPort!.postMessage({ id: message.id, malformed: true });
  }
});
