import { cliContext, CliError, printJson, printLines, splitList, withRuntime } from './io.ts';

export async function createAppCommand(options: { name: string; purposes: string; reveal?: string; json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const app = await runtime.auth.createApp(cliContext(runtime), { name: options.name, purposes: splitList(options.purposes), reveal: splitList(options.reveal) });
    if (options.json) {
      printJson({ clientId: app.clientId, clientSecret: app.clientSecret, name: app.name, purposes: app.purposes, reveal: app.reveal });
      return;
    }
    printLines(
      `Created app "${app.name}"`,
      `  client id:     ${app.clientId}`,
      `  client secret: ${app.clientSecret}`,
      `  purposes:      ${app.purposes.join(', ')}`,
      `  reveal:        ${app.reveal.join(', ') || '(none)'}`,
      '',
      'The secret is shown only now; Custos keeps only its argon2id hash.',
    );
  });
}

export async function listAppsCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const apps = await runtime.auth.listApps();
    if (options.json) return printJson(apps);
    if (apps.length === 0) return printLines('No apps yet. Create one with: custos apps create --name NAME --purposes a,b');
    printLines(...apps.map((a) => `${a.clientId}  ${a.name}  [${a.purposes.join(', ')}]${a.removedAt ? `  removed ${a.removedAt}` : ''}`));
  });
}

export async function removeAppCommand(clientId: string, options: { json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const removed = await runtime.auth.removeApp(cliContext(runtime), clientId);
    if (!removed) throw new CliError(`no active app with client id ${clientId}`);
    if (options.json) return printJson({ clientId, removed: true });
    printLines(`Removed ${clientId}; its tokens stop working at once.`);
  });
}
