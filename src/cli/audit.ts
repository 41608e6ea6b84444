import { verifyAuditChain } from '../modules/audit/service.ts';
import { printJson, printLines, withRuntime } from './io.ts';

/** Exit code 1 when the trail does not verify, so a cron job or CI step fails loudly. */
export async function verifyAuditCommand(options: { json?: boolean }): Promise<void> {
  const result = await withRuntime((runtime) => verifyAuditChain(runtime.db.read));
  if (options.json) printJson(result);
  else if (result.ok) printLines(`Audit trail intact: ${result.checked} events, head at ${result.headSeq}`);
  else printLines(`AUDIT TRAIL BROKEN at event ${result.firstBad!.seq} (${result.firstBad!.id || 'no id'}): ${result.firstBad!.problem}`, `  ${result.checked} events verified before it`);
  if (!result.ok) process.exitCode = 1;
}
