// Run as its own process by test/ops/closing.test.ts: a gateway that parsed a large body on
// its worker thread, then closed. The process must then exit by itself, with nothing left open.
import request from 'supertest';
import { appToken, createTestApp, startTestGateway } from '../gateway.ts';

void (async () => {
  const gateway = await startTestGateway();
  const token = await appToken(gateway, await createTestApp(gateway, ['marketing']));
  const refs = Array.from({ length: 12_000 }, (_, i) => `ref_${String(i).padStart(22, '0')}`);
  const scrub = await request(gateway.app).post('/v1/contacts/scrub').set('Authorization', `Bearer ${token}`).send({ channel: 'email', purpose: 'marketing', refs });
  const open = gateway.runtime.closeables.open();
  await gateway.close();
  process.stdout.write(`${JSON.stringify({ scrub: scrub.status, bytes: JSON.stringify({ refs }).length, open, after: gateway.runtime.closeables.open() })}\n`);
})();
