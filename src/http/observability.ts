import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Span } from '@opentelemetry/api';
import type { Database } from '../storage/database.ts';
import { startRequestSpan, telemetry } from '../shared/telemetry.ts';
import type { LogHealth, Logger } from '../logger.ts';
import './express-augment.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
}

/**
 * A counter whose values another part keeps as running totals (the log
 * stream's failures, the watchdog's verdicts): each scrape adds what the
 * totals grew by since the last one, per label value.
 */
function countedFrom(registry: client.Registry, counter: { name: string; help: string; label: string; totals: () => Record<string, number> }): void {
  let reported: Record<string, number> = {};
  new client.Counter({
    name: counter.name,
    help: counter.help,
    labelNames: [counter.label],
    registers: [registry],
    collect() {
      const now = counter.totals();
      for (const [value, total] of Object.entries(now)) this.inc({ [counter.label]: value }, total - (reported[value] ?? 0));
      reported = now;
    },
  });
}

export function createMetrics(logHealth?: LogHealth, watchdog?: Database['watchdog']): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'custos_' });
  // prom-client names three gauges with a counter's _total suffix, which Prometheus's own
  // checker (promtool check metrics) refuses; each is the sum of its by-type gauge beside it.
  for (const total of ['custos_nodejs_active_handles_total', 'custos_nodejs_active_requests_total', 'custos_nodejs_active_resources_total']) registry.removeSingleMetric(total);
  if (logHealth) {
    countedFrom(registry, {
      name: 'custos_log_write_failures_total',
      help: 'Log lines that could not be written (failed: the destination refused them, e.g. a full disk; dropped: it took no more). Logging never stops the gateway.',
      label: 'outcome',
      totals: () => ({ failed: logHealth.failures, dropped: logHealth.dropped }),
    });
  }
  if (watchdog) {
    new client.Gauge({
      name: 'custos_database_stuck',
      help: '1 while the watchdog finds the PostgreSQL server not answering (statements are refused unsent and answered 503 until a probe answers), else 0',
      registers: [registry],
      collect() {
        this.set(watchdog.stuck ? 1 : 0);
      },
    });
    countedFrom(registry, {
      name: 'custos_database_probes_total',
      help: 'Probes of the PostgreSQL server after a wait on it lasted 40% of DATABASE_ANSWER_TIMEOUT_MS, by verdict: answering (the wait was only slow) or stuck (every wait abandoned)',
      label: 'verdict',
      totals: () => ({ ...watchdog.verdicts }),
    });
  }
  const httpDuration = new client.Histogram({
    name: 'custos_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, httpDuration };
}

/**
 * Assigns the request id and writes one log line per request. Logs the route
 * pattern, never the URL: paths and query strings can carry identifiers.
 */
export function requestObservability(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.custos = { requestId, startedAt: process.hrtime.bigint() };
    res.setHeader('X-Request-Id', requestId);
    let span: Span | undefined;
    res.on('finish', () => {
      const state = req.custos!;
      const seconds = Number(process.hrtime.bigint() - state.startedAt) / 1e9;
      const route = state.route ?? '(unmatched)';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (span) {
        // The route pattern is known only now; the URL itself (which may carry identifiers) is never recorded.
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode, ...(state.principal?.kind === 'app' ? { 'custos.client_id': state.principal.clientId } : {}) });
        if (res.statusCode >= 500) span.setStatus({ code: 2 });
        span.end();
        telemetry.requestDuration?.record(seconds, { 'http.request.method': req.method, 'http.route': route, 'http.response.status_code': res.statusCode });
      }
      const principal = state.principal;
      logger.info('request', {
        requestId,
        method: req.method,
        route,
        status: res.statusCode,
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        ...(principal?.kind === 'app' ? { clientId: principal.clientId } : {}),
        ...(principal?.kind === 'officer' ? { officerId: principal.id } : {}),
      });
    });
    span = startRequestSpan(`${req.method}`, { 'http.request.method': req.method, 'custos.request_id': requestId }, next);
  };
}
