import fs from 'node:fs';
import os from 'node:os';
import { CheckpointError, openCheckpoint } from '../modules/audit/tree-head.ts';
import { verifyAuditLog, type LogVerification } from '../modules/audit/verify.ts';
import { CliError, cliIo, printJson, printLines, printProblem, withRuntime } from './io.ts';

/**
 * Exit 1 when the trail does not verify, so a cron job or CI step fails
 * loudly; exit 2 when a checkpoint file cannot be used (it proves nothing
 * either way, which is not the same as "inconsistent").
 */
export async function verifyAuditCommand(options: { json?: boolean; from?: string; checkpoint?: string }): Promise<void> {
  const from = options.from === undefined ? 0 : Number(options.from);
  if (!Number.isSafeInteger(from) || from < 0) throw new CliError('--from must be a leaf index (a whole number, 0 or more)');
  let noteText: string | undefined;
  if (options.checkpoint) {
    try {
      noteText = fs.readFileSync(options.checkpoint, 'utf8');
    } catch (error) {
      return fail2(options, `cannot read the checkpoint file: ${(error as Error).message}`);
    }
  }
  const result = await withRuntime(
    async (runtime): Promise<LogVerification | string> => {
      let checkpoint: { treeSize: number; rootHash: string } | undefined;
      if (noteText !== undefined) {
        try {
          checkpoint = openCheckpoint(noteText, runtime.auditOrigin, runtime.signingKey.publicKey);
        } catch (error) {
          if (error instanceof CheckpointError) return error.message;
          throw error;
        }
      }
      // Event content is checked on worker threads (each with its own connection) while this thread checks the tree.
      const parallel = { database: runtime.config.database, threads: Math.max(1, os.availableParallelism() - 1) };
      return verifyAuditLog(runtime.db, { keys: [runtime.signingKey.publicJwk] }, { from, checkpoint, parallel });
    },
    { integrate: false },
  );
  if (typeof result === 'string') return fail2(options, `the checkpoint cannot be used: ${result}`);
  if (options.json) printJson(result);
  else if (result.ok) {
    printLines(
      `Audit log intact: ${result.treeSize} events (${result.checked} recomputed from their content), root ${result.rootHash}`,
      `  ${result.treeHeads} signed tree heads match${result.pending ? `; ${result.pending} newer events not yet placed (normal while the server writes)` : ''}`,
      ...(result.checkpoint ? [`  consistent with the checkpoint of ${result.checkpoint.treeSize} events`] : []),
    );
  } else {
    const bad = result.firstBad!;
    const where = bad.leafIndex !== undefined ? `event ${bad.leafIndex}${bad.id ? ` (${bad.id})` : ''}` : `tree size ${bad.treeSize}`;
    printLines(`AUDIT LOG BROKEN at ${where}: ${bad.problem}`);
  }
  if (!result.ok) cliIo().exitCode = 1;
}

function fail2(options: { json?: boolean }, message: string): void {
  if (options.json) printJson({ ok: false, error: message });
  else printProblem(message);
  cliIo().exitCode = 2;
}
