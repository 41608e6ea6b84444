import { parentPort, workerData } from 'node:worker_threads';
import { tagIdentifiers, type TaggingSpec } from './identifier-tags.ts';

/** Worker thread body of the identifier tagger: one message in, one answer out, in order. */
const spec = workerData as TaggingSpec;
parentPort!.on('message', (message: { id: number; values: string[] }) => {
  const { tags, invalid } = tagIdentifiers(spec, message.values);
  const copy = tags.slice(); // its own buffer, sized to the tags, so transferring it moves no more than needed
  parentPort!.postMessage({ id: message.id, tags: copy, invalid }, [copy.buffer]);
});
