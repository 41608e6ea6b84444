import { createRuntime } from '../runtime.ts';
import { startServer } from '../server.ts';
import { readConfig } from './io.ts';
import { createLogger } from '../logger.ts';

export async function serveCommand(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const runtime = await createRuntime(config, logger, { background: true });
  const running = await startServer(runtime);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
