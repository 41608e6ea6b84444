import request from 'supertest';
import { databaseKind, startTestGateway, type TestGateway } from '../support/gateway.ts';

/** With every pooled connection busy, /readyz says so within its budget instead of queueing behind them. */
const runs = databaseKind === 'postgresql' ? describe : describe.skip;

runs('readiness when the connection pool is exhausted', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ DATABASE_POOL_SIZE: '1', DATABASE_STATEMENT_TIMEOUT_MS: '10000' });
  });
  afterAll(() => gateway.close());

  it('answers not ready while the only connection is held, and ready once it is free', async () => {
    expect((await request(gateway.app).get('/readyz')).status).toBe(200);
    let release!: () => void;
    const held = gateway.runtime.db.transaction(() => new Promise<void>((resolve) => (release = resolve)));
    try {
      const busy = await request(gateway.app).get('/readyz');
      expect({ status: busy.status, database: busy.body.checks.database }).toEqual({ status: 503, database: 'stuck' });
    } finally {
      release();
      await held;
    }
    expect((await request(gateway.app).get('/readyz')).status).toBe(200);
  });
});
