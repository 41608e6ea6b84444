import request from 'supertest';
import { auditEvents, createTestOfficer, officerToken, startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('GET /v1/people', () => {
  let gateway: TestGateway;
  let agent: string;
  let auditor: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    const [a, b] = await Promise.all([createTestOfficer(gateway, 'privacy-agent'), createTestOfficer(gateway, 'auditor')]);
    agent = await officerToken(gateway, a!.username, a!.password);
    auditor = await officerToken(gateway, b!.username, b!.password);
  });
  afterAll(() => gateway.close());

  it('is for privacy agents and admins, takes exactly one identifier, and answers an unknown number with its do-not-call status', async () => {
    expect((await request(gateway.app).get('/v1/people').query({ phone: '13800138999' }).set('Authorization', `Bearer ${auditor}`)).status).toBe(403);
    expect((await request(gateway.app).get('/v1/people').query({ phone: '13800138999', email: 'a@b.co' }).set('Authorization', `Bearer ${agent}`)).status).toBe(400);
    expect((await request(gateway.app).get('/v1/people').query({ phone: 'not a number' }).set('Authorization', `Bearer ${agent}`)).status).toBe(422);
    const nobody = await request(gateway.app).get('/v1/people').query({ phone: '13800138999' }).set('Authorization', `Bearer ${agent}`);
    expect(nobody.body).toEqual({ people: [], doNotCall: { listed: false, sources: [], internalEntries: [] } });
    expect((await auditEvents(gateway, 'people.person.view')).at(-1)).toMatchObject({ decision: 'info', reasons: [{ code: 'no-match' }, { code: 'by', detail: 'phone' }] });
  });
});
