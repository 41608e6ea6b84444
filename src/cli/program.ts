import { Command, CommanderError, Option } from 'commander';
import { officerRoles } from '../modules/auth/schema.ts';
import { createAppCommand, listAppsCommand, removeAppCommand } from './apps.ts';
import { verifyAuditCommand } from './audit.ts';
import { backupCommand } from './backup.ts';
import { seedDemoCommand } from './demo.ts';
import { importDncCommand } from './dnc.ts';
import { importCommand } from './import.ts';
import { describeCliFailure, printProblem, processIo, useCliIo, type CliIo } from './io.ts';
import { rotateKeysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';
import { createOfficerCommand, listOfficersCommand, removeOfficerCommand } from './officers.ts';
import { checkPolicyCommand } from './policy.ts';
import { retentionRunCommand } from './retention.ts';
import { serveCommand } from './serve.ts';

/**
 * Every command of `custos`, parsed by commander. Errors and help go to the
 * run's io, and nothing here exits the process: bin/custos does that with the
 * code runCli returns, and tests run commands in-process the same way.
 */
function buildProgram(io: CliIo): Command {
  const program = new Command('custos')
    .description('Custos privacy and consent compliance gateway')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) });

  program.command('serve').description('run the gateway (configuration from the environment; see .env.example)').action(serveCommand);

  program
    .command('backup')
    .description('an online copy of the embedded database to a new file, safe while the server runs (PostgreSQL: use pg_dump)')
    .argument('<out>', 'the file to write (must not exist)')
    .option('--json', 'print the result as JSON')
    .action(backupCommand);

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--dry-run', 'list pending migrations without applying them')
    .option('--json', 'print the result as JSON')
    .action(migrateCommand);

  program
    .command('policy')
    .description('policy files')
    .command('check')
    .argument('[dir]', 'policy directory (default: POLICY_DIR)')
    .description('validate every policy file; exit 1 naming file, key path and problem')
    .option('--json', 'print the result as JSON')
    .action(checkPolicyCommand);

  const apps = program.command('apps').description('machine clients');
  apps
    .command('create')
    .description('register an app and print its client secret once')
    .requiredOption('--name <name>', 'display name, e.g. "Call centre dialer"')
    .requiredOption('--purposes <list>', 'comma-separated purposes the app may use')
    .option('--reveal <channels>', 'comma-separated channels whose raw identifier the app may have revealed')
    .option('--json', 'print {clientId, clientSecret, purposes} as JSON')
    .action(createAppCommand);
  apps.command('list').description('list apps').option('--json', 'print as JSON').action(listAppsCommand);
  apps.command('remove').argument('<clientId>').description('remove an app; its tokens stop working at once').option('--json', 'print as JSON').action(removeAppCommand);

  const officers = program.command('officers').description('compliance officers');
  officers
    .command('create')
    .description('create an officer who signs in with a password')
    .requiredOption('--username <username>', 'sign-in name')
    .addOption(new Option('--role <role>', 'role').choices(officerRoles).makeOptionMandatory())
    .option('--password-stdin', 'read the password from standard input (otherwise one is generated and printed once)')
    .option('--json', 'print the officer as JSON')
    .action(createOfficerCommand);
  officers.command('list').description('list officers').option('--json', 'print as JSON').action(listOfficersCommand);
  officers.command('remove').argument('<id>').description('remove an officer; their sessions stop working at once').option('--json', 'print as JSON').action(removeOfficerCommand);

  program
    .command('audit')
    .description('audit trail')
    .command('verify')
    .description('recompute every leaf, chain link, stored tree hash and signed tree head; exit 1 naming the first bad event or head, exit 2 for an unusable checkpoint')
    .option('--from <index>', 'recompute event content from this leaf index on (the tree is still rebuilt from every stored leaf hash)')
    .option('--checkpoint <file>', 'a checkpoint (GET /v1/audit/checkpoint) kept outside Custos: prove the log is consistent with it')
    .option('--json', 'print the result as JSON')
    .action(verifyAuditCommand);

  program
    .command('keys')
    .description('encryption and pseudonym keys')
    .command('rotate')
    .description('add a key version; re-wrap every data key and re-index identifiers under it (refs stay valid)')
    .option('--json', 'print the result as JSON')
    .action(rotateKeysCommand);

  program
    .command('dnc')
    .description('do-not-call lists')
    .command('import')
    .argument('<file>', 'registry file: one number a line, or CSV with a phone column')
    .requiredOption('--source <name>', 'the list this file is (a new file for a source replaces its previous list atomically)')
    .option('--json', 'print the counts as JSON')
    .description('stream a registry file in, store only pseudonyms, replace the source atomically')
    .action(importDncCommand);

  program
    .command('import')
    .argument('<file>', 'customers, one import record a line (NDJSON, SPEC §10), or a CSV export with --mapping')
    .requiredOption('--app <client-id>', 'the app the people are written for (its purposes decide what may be collected; it gets their refs)')
    .option('--format <format>', 'ndjson or csv', 'ndjson')
    .option('--mapping <file>', 'for CSV: a YAML file saying which column holds which field')
    .option('--dry-run', 'check every row and report what an import would do; write nothing')
    .option('--resume [import-id]', "carry on an import that ended early (the app's last one unless an id is given), after the lines it committed")
    .option('--max-errors <n>', 'stop after this many refused rows (what was committed stays)')
    .option('--refs <file>', 'write the CRM\'s ids beside the app\'s refs to this file, one {"id","ref"} a line')
    .option('--json', 'print the report (counts, refusals, refs) as JSON')
    .description('import an existing customer base: people, their consent history, do-not-call flags and recent contacts; resumable and idempotent')
    .action(importCommand);

  program
    .command('retention')
    .description("each purpose's retention (policy)")
    .command('run')
    .description('erase subjects whose every purpose is past its retention since their last activity under it (as an approved erasure: keys and values destroyed, audit kept)')
    .option('--dry-run', 'count per purpose what would be erased; erase nothing')
    .option('--json', 'print the report as JSON')
    .action(retentionRunCommand);

  program
    .command('demo')
    .description('demonstration data')
    .command('seed')
    .description('create a demo app and N fake subjects (encrypted and pseudonymized like real ones)')
    .requiredOption('--subjects <n>', 'how many subjects', '1000')
    .option('--app-name <name>', 'name of the demo app', 'Demo CRM')
    .option('--json', 'print the result (with the app credentials) as JSON')
    .action(seedDemoCommand);
  return program;
}

/** Runs one command line (without the leading `node custos`); resolves with the exit code. */
export async function runCli(args: string[], io: CliIo = processIo()): Promise<number> {
  useCliIo(io);
  try {
    await buildProgram(io).parseAsync(args, { from: 'user' });
    return io.exitCode;
  } catch (error) {
    // Commander has already said what was wrong with the command line (or printed the help).
    if (error instanceof CommanderError) return error.exitCode;
    printProblem(describeCliFailure(error));
    // A command may say which code its failure exits with (an import file refused whole: 2, nothing written).
    const code = (error as { exitCode?: unknown } | null)?.exitCode;
    return typeof code === 'number' ? code : 1;
  }
}
