import { randomBytes } from 'node:crypto';
import type { OfficerRole } from '../modules/auth/schema.ts';
import { cliContext, CliError, printJson, printLines, readStdin, withRuntime } from './io.ts';

export async function createOfficerCommand(options: { username: string; role: string; passwordStdin?: boolean; json?: boolean }): Promise<void> {
  let password: string;
  let generated = false;
  if (options.passwordStdin) {
    // One trailing newline is how `echo` and most secret stores hand a value over; it is not part of the password.
    password = (await readStdin()).replace(/\r?\n$/, '');
    if (password === '') throw new CliError('--password-stdin was given but standard input was empty');
  } else {
    password = randomBytes(18).toString('base64url');
    generated = true;
  }
  await withRuntime(async (runtime) => {
    const officer = await runtime.auth.createOfficer(cliContext(runtime), { username: options.username, role: options.role as OfficerRole, password });
    if (options.json) return printJson({ ...officer, ...(generated ? { password } : {}) });
    printLines(
      `Created officer ${officer.username} (${officer.role}), id ${officer.id}`,
      ...(generated ? [`  password: ${password}`, '', 'The password is shown only now. Pass --password-stdin to set your own.'] : []),
    );
  });
}
