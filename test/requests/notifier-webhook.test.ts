import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { takeLease, releaseLease } from '../../src/storage/job-lease.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** A messaging service that fails its first `failures` deliveries, then takes every message. */
function messagingService(failures: number) {
  const received: Array<{ body: Record<string, string>; idempotencyKey: string | undefined }> = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      calls += 1;
      if (calls <= failures) {
        res.writeHead(503).end('down for maintenance');
        return;
      }
      received.push({ body: JSON.parse(text) as Record<string, string>, idempotencyKey: req.headers['idempotency-key'] as string | undefined });
      res.writeHead(202).end();
    });
  });
  return {
    received,
    calls: () => calls,
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the webhook notifier', () => {
  let gateway: TestGateway;
  const service = messagingService(2);

  beforeAll(async () => {
    gateway = await startTestGateway({ NOTIFIER_WEBHOOK_URL: await service.start() });
    gateway.runtime.notifier.start();
  });
  afterAll(async () => {
    await gateway.close();
    await service.close();
  });

  it('delivers the code to the messaging service, retrying while it fails, and the request never gets lost', async () => {
    const submitted = await request(gateway.app)
      .post('/v1/privacy-requests')
      .send({ type: 'access', identifier: { phone: '13800138201' }, locale: 'zh-CN' });
    expect(submitted.status).toBe(202);
    // Two refusals, then delivery: the dispatcher backs off and tries again on its own.
    for (let i = 0; i < 100 && service.received.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(service.calls()).toBe(3);
    const [message] = service.received;
    expect(message!.body).toMatchObject({ requestId: submitted.body.id, channel: 'sms', to: '+8613800138201' });
    expect(message!.body.text).toContain('验证码');
    expect(message!.idempotencyKey).toBe(message!.body.id);
    // The service has the message once its body arrived; the dispatcher records the delivery when the 202 is back.
    const stored = () => gateway.runtime.db.read.notifierMessage.findUniqueOrThrow({ where: { id: message!.body.id } });
    for (let i = 0; i < 50 && (await stored()).status !== 'delivered'; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await stored()).toMatchObject({ status: 'delivered', attempts: 3 });
    const code = /(\d{6})/.exec(message!.body.text!)![1]!;
    const verified = await request(gateway.app).post(`/v1/privacy-requests/${submitted.body.id}/verify`).send({ code });
    expect(verified.body.status).toBe('completed');
    // The failures are logged by message id, never with the address or the text.
    const logs = gateway.logs.join('\n');
    expect(logs).toContain('message delivery failed; will retry');
    expect(logs).not.toContain('13800138201');
    expect(logs).not.toContain(code);
  });

  it('one replica at a time holds the maintenance lease', async () => {
    const db = gateway.runtime.db;
    expect(await takeLease(db, 'test-job', 'replica-a', 60_000)).toBe(true);
    expect(await takeLease(db, 'test-job', 'replica-b', 60_000)).toBe(false);
    expect(await takeLease(db, 'test-job', 'replica-a', 60_000)).toBe(true);
    await releaseLease(db, 'test-job', 'replica-a');
    expect(await takeLease(db, 'test-job', 'replica-b', 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // A lease that ran out (its holder died) goes to the next replica that asks.
    expect(await takeLease(db, 'test-job', 'replica-a', 60_000)).toBe(true);
  });
});
