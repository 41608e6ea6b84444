import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createApp } from './app.ts';
import type { Runtime } from './runtime.ts';

export interface RunningServer {
  server: http.Server;
  port: number;
  /** Stops taking requests, lets in-flight ones finish, then closes the database. */
  shutdown(signal?: string): Promise<void>;
}

export async function startServer(runtime: Runtime): Promise<RunningServer> {
  const { config, logger } = runtime;
  const app = createApp(runtime);
  const server = http.createServer(app);
  // Longer than a typical load balancer's idle timeout, so it closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shown}:${port}`;
  logger.info(`custos listening on ${url} (API docs at ${url}/docs)`, { port, url, docs: `${url}/docs`, database: config.database.kind, policyVersion: runtime.loaded.version });

  let closing: Promise<void> | undefined;
  const shutdown = (signal = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down: draining in-flight requests', { signal });
      runtime.ops.shuttingDown = true;
      const force = setTimeout(() => {
        logger.warn('shutdown timeout reached; closing remaining connections', { timeoutMs: config.shutdownTimeoutMs });
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      force.unref();
      // close() stops accepting, closes idle keep-alive sockets and waits for in-flight requests.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(force);
      await runtime.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { server, port, shutdown };
}
