import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseConfig } from '../../config.ts';
import { openDatabase } from '../../storage/database.ts';
import { checkLeafContent } from './verify-content.ts';

/** Worker thread body of `custos audit verify`: checks the content of one range of leaves on its own connection. */
const { database, start, end } = workerData as { database: DatabaseConfig; start: number; end: number };
void (async () => {
  const db = await openDatabase({ ...database, poolSize: 1 });
  try {
    parentPort!.postMessage(await checkLeafContent(db, start, end));
  } catch (error) {
    parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
  } finally {
    await db.close();
  }
})();
