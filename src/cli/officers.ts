import type { OfficerRole } from '../modules/auth/schema.ts';
import { cliContext, CliError, printJson, printLines, readStdin, withRuntime } from './io.ts';

export async function createOfficerCommand(options: { username: string; role: string; passwordStdin?: boolean; json?: boolean }): Promise<void> {
  let password: string | undefined;
  if (options.passwordStdin) {
    // One trailing newline is how `echo` and most secret stores hand a value over; it is not part of the password.
    password = (await readStdin()).replace(/\r?\n$/, '');
    if (password === '') throw new CliError('--password-stdin was given but standard input was empty');
  }
  await withRuntime(async (runtime) => {
    const officer = await runtime.auth.createOfficer(cliContext(runtime), { username: options.username, role: options.role as OfficerRole, password });
    if (options.json) return printJson(officer);
    printLines(
      `Created officer ${officer.username} (${officer.role}), id ${officer.id}`,
      ...(officer.password ? [`  password: ${officer.password}`, '', 'The password is shown only now. Pass --password-stdin to set your own.'] : []),
    );
  });
}

export async function listOfficersCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const officers = await runtime.auth.listOfficers();
    if (options.json) return printJson(officers);
    if (officers.length === 0) return printLines('No officers yet. Create one with: custos officers create --username NAME --role admin');
    printLines(...officers.map((o) => `${o.id}  ${o.username}  ${o.role}${o.removedAt ? `  removed ${o.removedAt}` : ''}`));
  });
}

export async function removeOfficerCommand(id: string, options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const removed = await runtime.auth.removeOfficer(cliContext(runtime), id);
    if (!removed) throw new CliError(`no active officer with id ${id}`);
    if (options.json) return printJson({ id, removed: true });
    printLines(`Removed ${id}; their sessions stop working at once.`);
  });
}
