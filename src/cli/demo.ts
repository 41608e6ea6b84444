import { CliError, cliContext, printJson, printLines, withRuntime } from './io.ts';
import { progressReporter } from './progress.ts';

export async function seedDemoCommand(options: { subjects: string; appName: string; json?: boolean }): Promise<void> {
  const count = Number(options.subjects);
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) throw new CliError('--subjects must be a whole number from 1 to 10000000');
  await withRuntime(async (runtime) => {
    const ctx = cliContext(runtime);
    const app = await runtime.auth.createApp(ctx, { name: options.appName, purposes: Object.keys(runtime.loaded.policy.purposes), reveal: [] });
    const progress = progressReporter('seeding subjects', count, options.json);
    const started = Date.now();
    const result = await runtime.subjects.seedSubjects(ctx, app.clientId, count, progress.update);
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    if (options.json) return printJson({ ...result, seconds, clientId: app.clientId, clientSecret: app.clientSecret, purposes: app.purposes });
    printLines(
      `Seeded ${result.created} fake subjects in ${seconds.toFixed(1)} s, each with a ref for the app below.`,
      `  client id:     ${app.clientId}`,
      `  client secret: ${app.clientSecret}`,
      'A few of them to try (fake numbers and addresses):',
      ...result.samples.map((s) => `  ${s.ref}  ${s.phone}  ${s.email}`),
      'For example: GET /v1/subjects/lookup?purpose=support&phone=<phone>, then POST /v1/contacts/authorize {"ref":…,"channel":"email","purpose":"support"}.',
    );
  });
}
