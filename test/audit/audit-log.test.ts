import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { compactVerify, createLocalJWKSet } from 'jose';
import request from 'supertest';
import { leafEntry } from '../../src/modules/audit/leaf.ts';
import { appendAuditEvents } from '../../src/modules/audit/service.ts';
import { appToken, createTestApp, createTestOfficer, officerToken, startTestGateway, systemContext, type TestGateway } from '../support/gateway.ts';

/** RFC 9162 section 2.1, written again here from the RFC text (no code shared with src/). */
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const node = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function verifyInclusion(index: number, size: number, leaf: Buffer, path: Buffer[], root: Buffer): boolean {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else r = node(r, p);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 && r.equals(root);
}
function verifyConsistency(first: number, second: number, proof: Buffer[], firstRoot: Buffer, secondRoot: Buffer): boolean {
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) [fn, sn] = [fn >> 1, sn >> 1];
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else sr = node(sr, c);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}
const hexes = (list: string[]) => list.map((h) => Buffer.from(h, 'hex'));

describe('verifiable audit log over HTTP', () => {
  let gateway: TestGateway;
  let auditor: string;
  let agent: string;
  let crmToken: string;
  let crmId: string;
  let ref: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ AUDIT_TREE_HEAD_INTERVAL_MS: '0', AUDIT_LOG_ORIGIN: 'custos.test/audit' });
    const crm = await createTestApp(gateway, ['marketing', 'support']);
    crmId = crm.clientId;
    crmToken = await appToken(gateway, crm);
    const a = await createTestOfficer(gateway, 'auditor', 'alice');
    auditor = await officerToken(gateway, a.username, a.password);
    const p = await createTestOfficer(gateway, 'privacy-agent');
    agent = await officerToken(gateway, p.username, p.password);
    const written = await request(gateway.app)
      .post('/v1/subjects')
      .set('Authorization', `Bearer ${crmToken}`)
      .send({ purpose: 'support', identifiers: { phone: '+86 138 0013 8555', email: 'Mei@Example.com' }, attributes: { name: 'Mei' } });
    ref = written.body.ref;
    await request(gateway.app).get(`/v1/subjects/${ref}`).query({ purpose: 'support' }).set('Authorization', `Bearer ${crmToken}`);
    await gateway.runtime.auditIntegrator.flush();
  });
  afterAll(() => gateway.close());

  const get = (path: string, token?: string) => {
    const req = request(gateway.app).get(path);
    return token ? req.set('Authorization', `Bearer ${token}`) : req;
  };
  /** Leaf hashes recomputed from the events' content, in leaf order (not the stored hashes). */
  const leafHashes = async (size: number) => {
    const leaves = await gateway.runtime.db.read.auditLeaf.findMany({ where: { leafIndex: { lt: BigInt(size) } }, orderBy: { leafIndex: 'asc' } });
    const events = new Map((await gateway.runtime.db.read.auditEvent.findMany({ where: { no: { in: leaves.map((l) => l.eventNo) } } })).map((e) => [e.no, e]));
    return leaves.map((l) => {
      const r = events.get(l.eventNo)!;
      return sha(Buffer.from([0]), leafEntry({ ...r, index: Number(l.leafIndex), fields: JSON.parse(r.fields), reasons: JSON.parse(r.reasons) }));
    });
  };

  it('signs tree heads with the key at /.well-known/jwks.json, over the root an auditor recomputes from the events', async () => {
    const { body: head } = await get('/v1/audit/tree-head');
    expect(head).toEqual({ treeSize: expect.any(Number), rootHash: expect.stringMatching(/^[0-9a-f]{64}$/), timestamp: expect.any(String), signature: expect.any(String) });
    const jwks = (await get('/.well-known/jwks.json')).body;
    const { payload } = await compactVerify(head.signature, createLocalJWKSet(jwks));
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp });
    expect(mth(await leafHashes(head.treeSize)).toString('hex')).toBe(head.rootHash);
  });

  it('serves the same head as a C2SP tlog-checkpoint signed note (checked from the C2SP text, not our code)', async () => {
    const { body: head } = await get('/v1/audit/tree-head');
    const note = await get('/v1/audit/checkpoint');
    expect(note.headers['content-type']).toMatch(/^text\/plain/);
    const [text, signatures] = note.text.split('\n\n') as [string, string];
    expect(text.split('\n')).toEqual(['custos.test/audit', String(head.treeSize), Buffer.from(head.rootHash, 'hex').toString('base64')]);
    const match = /^\u2014 (\S+) (\S+)\n$/.exec(signatures)!;
    expect(match[1]).toBe('custos.test/audit');
    const jwk = (await get('/.well-known/jwks.json')).body.keys[0];
    const publicKey = Buffer.from(jwk.x, 'base64url');
    const keyId = sha(Buffer.from('custos.test/audit\n'), Buffer.from([0x01]), publicKey).subarray(0, 4);
    const sig = Buffer.from(match[2]!, 'base64');
    expect(sig.subarray(0, 4)).toEqual(keyId);
    expect(verifySignature(null, Buffer.from(`${text}\n`), createPublicKey({ key: jwk, format: 'jwk' }), sig.subarray(4))).toBe(true);
    const info = (await get('/v1/audit/log-info')).body;
    expect(info.noteVerifierKey).toBe(`custos.test/audit+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([1]), publicKey]).toString('base64')}`);
  });

  it('proves inclusion and consistency as RFC 9162 says, at a few thousand events', async () => {
    const ctx = systemContext(gateway);
    await gateway.runtime.db.transaction((tx) =>
      appendAuditEvents(
        tx,
        ctx,
        Array.from({ length: 2600 }, (_, i) => ({ action: 'dnc.check', decision: 'info' as const, reasons: [{ code: `n${i}` }] })),
      ),
    );
    await gateway.runtime.auditIntegrator.flush();
    const { body: head } = await get('/v1/audit/tree-head');
    expect(head.treeSize).toBeGreaterThan(2600);
    const leaves = await leafHashes(head.treeSize);
    const root = Buffer.from(head.rootHash, 'hex');
    for (const [index, size] of [
      [0, 1],
      [0, head.treeSize],
      [255, 256],
      [256, 257],
      [1023, 2048],
      [head.treeSize - 1, head.treeSize],
      [1500, 2049],
    ] as const) {
      const { body, status } = await get(`/v1/audit/proofs/inclusion?index=${index}&treeSize=${size}`);
      expect(status).toBe(200);
      expect(body.leafHash).toBe(leaves[index]!.toString('hex'));
      expect(verifyInclusion(index, size, leaves[index]!, hexes(body.auditPath), size === head.treeSize ? root : mth(leaves.slice(0, size)))).toBe(true);
    }
    for (const [from, to] of [
      [1, head.treeSize],
      [256, 2048],
      [2049, head.treeSize],
      [7, 7],
      [head.treeSize, head.treeSize],
    ] as const) {
      const { body, status } = await get(`/v1/audit/proofs/consistency?from=${from}&to=${to}`);
      expect(status).toBe(200);
      expect(verifyConsistency(from, to, hexes(body.proof), mth(leaves.slice(0, from)), mth(leaves.slice(0, to)))).toBe(true);
    }
    const heads = (await get('/v1/audit/tree-heads?limit=1000')).body.treeHeads as Array<{ treeSize: number; rootHash: string }>;
    expect(heads.length).toBeGreaterThan(1);
    for (const h of heads) expect(mth(leaves.slice(0, h.treeSize)).toString('hex')).toBe(h.rootHash);
  });

  it.each([
    ['/v1/audit/proofs/inclusion?index=5&treeSize=5', 'index'],
    ['/v1/audit/proofs/inclusion?index=0&treeSize=999999999', 'treeSize'],
    ['/v1/audit/proofs/inclusion?index=-1&treeSize=3', 'index'],
    ['/v1/audit/proofs/inclusion?index=0&treeSize=0', 'treeSize'],
    ['/v1/audit/proofs/inclusion?index=x&treeSize=3', 'index'],
    ['/v1/audit/proofs/inclusion?treeSize=3', 'index'],
    ['/v1/audit/proofs/consistency?from=3&to=2', 'from'],
    ['/v1/audit/proofs/consistency?from=0&to=2', 'from'],
    ['/v1/audit/proofs/consistency?from=1&to=999999999', 'to'],
    ['/v1/audit/proofs/consistency?from=1.5&to=2', 'from'],
    ['/v1/audit/tree-heads?from=yesterday', 'from'],
  ])('answers %s with 400 naming %s', async (path, parameter) => {
    const answer = await get(path);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(parameter);
  });

  describe('officer queries', () => {
    it('finds a subject by a raw phone number in another format, and records the search with the pseudonym only', async () => {
      const { body, status } = await get('/v1/audit/events?subject=%2B8613800138555', auditor);
      expect(status).toBe(200);
      expect(body.events.map((e: { action: string }) => e.action)).toEqual(['subjects.subject.read', 'subjects.subject.create']);
      const subject = body.events[0].subject as string;
      expect(subject).toMatch(/^sub_/);
      // The subject's own trail now shows the search too; the accesses are the same whichever way the person is named.
      const accesses = (events: Array<{ id: string; action: string }>) => events.filter((e) => e.action !== 'audit.events.search').map((e) => e.id);
      expect(accesses((await get(`/v1/audit/events?subject=${ref}`, auditor)).body.events)).toEqual(accesses(body.events));
      expect(accesses((await get('/v1/audit/events?subject=mei%40example.com', auditor)).body.events)).toEqual(accesses(body.events));
      await gateway.runtime.auditIntegrator.flush();
      const searches = (await get('/v1/audit/events?action=audit.events.search&limit=10', auditor)).body.events;
      expect(searches.find((e: { subject: string | null }) => e.subject === subject)).toMatchObject({ actor: { type: 'officer' }, fields: ['subject'], reasons: [{ code: 'filter-subject' }] });
      const stored = JSON.stringify(await gateway.runtime.db.read.auditEvent.findMany(), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
      expect(stored).not.toMatch(/13800138555|138 0013|mei@example/i);
    });

    it('filters by app, officer, action, decision, reason and time, newest first, each event with its leaf index', async () => {
      await request(gateway.app).get('/v1/subjects/ref_AAAAAAAAAAAAAAAAAAAAAA').query({ purpose: 'support' }).set('Authorization', `Bearer ${crmToken}`);
      await gateway.runtime.auditIntegrator.flush();
      const byApp = (await get(`/v1/audit/events?app=${crmId}`, auditor)).body.events;
      expect(byApp.length).toBeGreaterThanOrEqual(3);
      expect(byApp.every((e: { actor: { id: string } }) => e.actor.id === crmId)).toBe(true);
      const indexes = byApp.map((e: { leafIndex: number }) => e.leafIndex);
      expect(indexes).toEqual([...indexes].sort((a, b) => b - a));
      const denied = (await get(`/v1/audit/events?app=${crmId}&decision=deny&reason=unknown-ref`, auditor)).body.events;
      expect(denied).toHaveLength(1);
      const byOfficer = (await get('/v1/audit/events?officer=alice&action=audit.events.search', auditor)).body.events;
      expect(byOfficer.length).toBeGreaterThan(0);
      const future = new Date(Date.now() + 3600_000).toISOString();
      expect((await get(`/v1/audit/events?from=${encodeURIComponent(future)}`, auditor)).body.events).toEqual([]);
      const proof = (await get(`/v1/audit/proofs/inclusion?index=${indexes[0]}&treeSize=${(await get('/v1/audit/tree-head')).body.treeSize}`)).body;
      expect(proof.leafHash).toBe(byApp[0].leafHash);
    });

    it('pages with a cursor that stays stable while events are appended', async () => {
      const first = (await get('/v1/audit/events?action=dnc.check&limit=100', auditor)).body;
      expect(first.events).toHaveLength(100);
      await gateway.runtime.db.transaction((tx) => appendAuditEvents(tx, systemContext(gateway), [{ action: 'dnc.check', decision: 'info' }]));
      await gateway.runtime.auditIntegrator.flush();
      const second = (await get(`/v1/audit/events?action=dnc.check&limit=100&cursor=${first.nextCursor}`, auditor)).body;
      expect(second.events[0].leafIndex).toBe(first.events[99].leafIndex - 1);
      let seen = first.events.length + second.events.length;
      for (let cursor = second.nextCursor; cursor;) {
        const page = (await get(`/v1/audit/events?action=dnc.check&limit=500&cursor=${cursor}`, auditor)).body;
        seen += page.events.length;
        cursor = page.nextCursor;
      }
      expect(seen).toBe(2600);
    });

    it('exports the whole result as NDJSON or CSV', async () => {
      const ndjson = await get('/v1/audit/events?action=dnc.check', auditor).set('Accept', 'application/x-ndjson');
      expect(ndjson.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = ndjson.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2601);
      expect(lines[0].leafIndex).toBeGreaterThan(lines[1].leafIndex);
      const csv = await get('/v1/audit/events?action=dnc.check&format=csv', auditor);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).toBe('leafIndex,id,at,actorType,actorId,action,decision,subject,purpose,fields,reasons,requestId,policyVersion,leafHash');
      expect(rows).toHaveLength(2602);
      await gateway.runtime.auditIntegrator.flush();
      expect((await get('/v1/audit/events?action=audit.events.export', auditor)).body.events.length).toBeGreaterThanOrEqual(2);
    });

    it('counts events by action, decision and deny reason per day', async () => {
      const from = new Date(Date.now() - 86_400_000).toISOString();
      const to = new Date(Date.now() + 86_400_000).toISOString();
      const { body, status } = await get(`/v1/audit/stats?from=${from}&to=${to}&bucket=day`, auditor);
      expect(status).toBe(200);
      const today = body.buckets.find((b: { start: string }) => b.start.startsWith(new Date().toISOString().slice(0, 10)));
      expect(today.byAction['dnc.check'].info).toBeGreaterThanOrEqual(2600);
      expect(today.byDecision.deny).toBeGreaterThanOrEqual(1);
      expect(today.denyReasons['unknown-ref']).toBe(1);
      // Hours add up to days. Counted on an action no query adds: each stats query is audited
      // itself, and the integrator may place that event between the two queries.
      const hourly = (await get(`/v1/audit/stats?from=${from}&to=${to}&bucket=hour`, auditor)).body;
      const checks = (buckets: Array<{ byAction: Record<string, { info?: number }> }>) => buckets.reduce((n, b) => n + (b.byAction['dnc.check']?.info ?? 0), 0);
      expect(checks(hourly.buckets)).toBe(checks(body.buckets));
    });

    it.each([
      ['/v1/audit/events?cursor=nonsense!', 'cursor'],
      ['/v1/audit/events?cursor=bGkx', 'limit'],
      ['/v1/audit/events?action=subjects.subject.steal', 'action'],
      ['/v1/audit/events?decision=maybe', 'decision'],
      ['/v1/audit/events?from=2026-13-01', 'from'],
      ['/v1/audit/events?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
      ['/v1/audit/events?limit=0', 'limit'],
      ['/v1/audit/events?reason=DROP%20TABLE', 'reason'],
      ['/v1/audit/stats?from=2020-11-01T00:00:00Z', 'to'],
      ['/v1/audit/stats?from=2026-11-03T00:00:00Z&to=2026-11-01T00:00:00Z', 'from'],
    ])('answers %s with 400 naming %s', async (path, parameter) => {
      const answer = await get(path.replace('cursor=bGkx', 'cursor=bGkx&limit=9999'), auditor);
      expect(answer.status).toBe(400);
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(parameter);
    });

    it('refuses apps and officers of other roles', async () => {
      expect((await get('/v1/audit/events', crmToken)).status).toBe(403);
      expect((await get('/v1/audit/events', agent)).status).toBe(403);
      expect((await get('/v1/audit/stats?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z', crmToken)).status).toBe(403);
      expect((await get('/v1/audit/events')).status).toBe(401);
    });
  });
});
