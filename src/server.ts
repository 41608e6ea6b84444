import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_TYPE_PREFIX } from './http/problem.ts';
import { createApp } from './app.ts';
import type { Runtime } from './runtime.ts';

export interface RunningServer {
  server: http.Server;
  port: number;
  /** Stops taking requests, lets in-flight ones finish, then closes the database. */
  shutdown(signal?: string): Promise<void>;
}

/**
 * Requests Node refuses before Express sees them (headers over --max-http-header-size,
 * malformed HTTP) get a problem+json answer where the socket can still take one,
 * instead of Node's bare status line.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (error.code !== 'HPE_HEADER_OVERFLOW' && error.code !== 'HPE_INVALID_METHOD' && !error.code?.startsWith('HPE_'))) {
    socket.destroy();
    return;
  }
  const [status, reason, code, title, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers-too-large', 'Request headers too large', 'the request headers are larger than this server accepts (16 KB in all)']
      : [400, 'Bad Request', 'malformed-request', 'Malformed request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_PREFIX}${code}`, title, status, detail });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export async function startServer(runtime: Runtime): Promise<RunningServer> {
  const { config, logger } = runtime;
  const app = createApp(runtime);
  const server = http.createServer(app);
  // Longer than a typical load balancer's idle timeout, so it closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', answerClientError);
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
