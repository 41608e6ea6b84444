import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { zoneWhereItIs } from '../contacts/zones.ts';
import { cleanUpEnvironment, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess } from '../support/processes.ts';

type KeyValue = { key: string; value: Record<string, unknown> };
type OtlpSpan = { name: string; spanId: string; parentSpanId?: string; traceId: string; attributes?: KeyValue[] };

/** An OTLP/HTTP receiver of our own: it keeps every body the exporters post, by path. */
async function otlpReceiver() {
  const bodies: Array<{ path: string; text: string }> = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', text });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value && (value.stringValue ?? value.intValue ?? value.boolValue ?? value.arrayValue);
};

/**
 * Run as `custos serve` in a process of its own: the OTLP exporters load
 * their HTTP transport with a dynamic import, which jest's module sandbox
 * does not allow, and a real process also proves the export is flushed on
 * SIGTERM.
 */
describe('OpenTelemetry over OTLP, when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  const CANARY = '13900160042';

  it('sends a span per request named by its route pattern, with the decision, statements as children on PostgreSQL, the request-duration histogram, and no value anywhere', async () => {
    const receiver = await otlpReceiver();
    const env: Record<string, string> = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'custos-test' };
    if (env.DATABASE_URL) expect((await runCustos(['migrate'], { env })).code).toBe(0);
    const created = await runCustos(['apps', 'create', '--name', 'Telemetry test', '--purposes', 'marketing,support', '--reveal', 'sms', '--json'], { env });
    const app = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
    const server = await startProcess([CUSTOS_BIN, 'serve'], { env, ready: /"port":(\d+)/ });
    const base = `http://127.0.0.1:${server.match[1]}`;
    let ref = '';
    try {
      const granted = await fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }) });
      const auth = { authorization: `Bearer ${((await granted.json()) as { access_token: string }).access_token}`, 'content-type': 'application/json' };
      const written = await fetch(`${base}/v1/subjects`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ purpose: 'marketing', identifiers: { phone: CANARY }, timezone: zoneWhereItIs(12) }),
      });
      expect(written.status).toBe(201);
      ref = ((await written.json()) as { ref: string }).ref;
      const answer = await fetch(`${base}/v1/contacts/authorize`, { method: 'POST', headers: auth, body: JSON.stringify({ ref, channel: 'sms', purpose: 'marketing', topic: 'cat-food' }) });
      expect(((await answer.json()) as { decision: string }).decision).toBe('deny');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await server.stop('SIGKILL');
      await cleanUpEnvironment(env);
      await receiver.close();
    }

    const traces = receiver.bodies.filter((b) => b.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    const spans = traces.flatMap((b) =>
      (JSON.parse(b.text) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((sc) => sc.spans)),
    );
    const authorize = spans.find((sp) => sp.name === 'POST /v1/contacts/authorize');
    expect(authorize).toBeDefined();
    expect({ route: attribute(authorize!, 'http.route'), status: Number(attribute(authorize!, 'http.response.status_code')), decision: attribute(authorize!, 'custos.decision') }).toEqual({
      route: '/v1/contacts/authorize',
      status: 200,
      decision: 'deny',
    });
    expect(JSON.stringify(attribute(authorize!, 'custos.reasons'))).toContain('no-consent');
    if (env.DATABASE_URL) {
      // Every statement on PostgreSQL is a child span of the request that sent it.
      const children = spans.filter((sp) => sp.parentSpanId === authorize!.spanId && sp.name === 'db.query');
      expect(children.length).toBeGreaterThan(0);
      expect(children.every((c) => c.traceId === authorize!.traceId && /^[A-Z]+$/.test(String(attribute(c, 'db.operation.name'))))).toBe(true);
    }
    expect(traces.some((b) => b.text.includes('custos-test'))).toBe(true);
    const metrics = receiver.bodies.filter((b) => b.path === '/v1/metrics').map((b) => b.text);
    expect(metrics.some((text) => text.includes('http.server.request.duration') && text.includes('/healthz'))).toBe(true);
    // The phone number, in any form, and the ref never leave in telemetry.
    for (const body of receiver.bodies) {
      expect(body.text).not.toContain(CANARY);
      expect(body.text).not.toContain(ref);
    }
  }, 60_000);
});
