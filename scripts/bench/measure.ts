import autocannon from 'autocannon';
import type { DatabaseWork, DatabaseWorkProbe } from './database-work.ts';

export interface Figure {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  /** autocannon reports no p95; p97.5 is the nearest percentile above it. */
  p975Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** PostgreSQL's work per request, when the bench can read pg_stat_statements. */
  database?: DatabaseWork;
}

export interface LoadOptions {
  url: string;
  /** Paths to rotate through, one per request (e.g. many subject refs), instead of the URL's own path. */
  paths?: string[];
  /** Bodies to rotate through, one per request (e.g. authorize calls for many refs). */
  bodies?: string[];
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationSeconds: number;
  /** Measures the database's work during the measured run (after the warm-up). */
  databaseWork?: DatabaseWorkProbe;
}

async function run(options: LoadOptions, duration: number): Promise<autocannon.Result> {
  let next = 0;
  let nextBody = 0;
  const paths = options.paths;
  const bodies = options.bodies;
  return autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    duration,
    ...(paths || bodies
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => {
                if (paths) request.path = paths[next++ % paths.length]!;
                if (bodies) request.body = bodies[nextBody++ % bodies.length]!;
                return request;
              },
            },
          ],
        }
      : {}),
  });
}

/** A short warm-up (JIT, connection pools), then the measured run. */
export async function measure(name: string, options: LoadOptions): Promise<Figure> {
  await run(options, 2);
  await options.databaseWork?.reset();
  const result = await run(options, options.durationSeconds);
  return {
    database: await options.databaseWork?.per(result.requests.total),
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p975Ms: result.latency.p97_5,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * One load spread over several targets at once (gateway processes behind a
 * load balancer): requests/s summed, latency percentiles the worst of them.
 */
export async function measureSpread(name: string, targets: LoadOptions[]): Promise<Figure> {
  await Promise.all(targets.map((t) => run(t, 2)));
  await targets[0]?.databaseWork?.reset();
  const results = await Promise.all(targets.map((t) => run(t, t.durationSeconds)));
  return {
    database: await targets[0]?.databaseWork?.per(results.reduce((sum, r) => sum + r.requests.total, 0)),
    name,
    requestsPerSecond: Math.round(results.reduce((sum, r) => sum + r.requests.average, 0)),
    p50Ms: Math.max(...results.map((r) => r.latency.p50)),
    p975Ms: Math.max(...results.map((r) => r.latency.p97_5)),
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
  };
}

/** Operations per second of a synchronous function on this one core. */
export function opsPerSecond(work: (i: number) => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(10_000, iterations); i++) work(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) work(i);
  return Math.round(iterations / (Number(process.hrtime.bigint() - started) / 1e9));
}

/** Operations per second of an async function, one at a time. */
export async function asyncOpsPerSecond(work: (i: number) => Promise<unknown>, iterations: number): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await work(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await work(i);
  return Math.round(iterations / (Number(process.hrtime.bigint() - started) / 1e9));
}

export function printTable(baseline: Figure, figures: Figure[]): void {
  const rows = [baseline, ...figures].map((f) => ({
    scenario: f.name,
    'req/s': f.requestsPerSecond,
    'p50 ms': f.p50Ms,
    'p99 ms': f.p99Ms,
    'vs baseline': f === baseline ? '1.00' : (f.requestsPerSecond / baseline.requestsPerSecond).toFixed(2),
    'errors/non-2xx': `${f.errors}/${f.non2xx}`,
    ...(f.database ? { 'db statements/req': f.database.statementsPerRequest.toFixed(1), 'db ms/req': f.database.serverMsPerRequest.toFixed(3) } : {}),
  }));
  console.table(rows);
}
