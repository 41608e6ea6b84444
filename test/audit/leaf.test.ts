import { randomBytes } from 'node:crypto';
import { leafEntryText, type LeafContent } from '../../src/modules/audit/leaf.ts';
import { canonicalJson } from '../../src/shared/canonical-json.ts';

/** The definition leafEntryText must match: the generic canonical JSON of the leaf's members. */
function leafEntryReference(e: LeafContent): string {
  return canonicalJson({
    v: 2,
    index: e.index,
    id: e.id,
    at: e.at.toISOString(),
    actor: { type: e.actorType, id: e.actorId },
    action: e.action,
    decision: e.decision,
    subject: e.subject,
    purpose: e.purpose,
    fields: e.fields,
    reasons: e.reasons,
    requestId: e.requestId,
    policyVersion: e.policyVersion,
  });
}

const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;
const strings = ['', 'a', 'é', '中文', '"quoted"', 'back\\slash', 'line\nbreak', '\u0000', '\ud800', 'emoji 😀', 'tab\t', '</script>'];
const maybe = <T>(value: T): T | null => (Math.random() < 0.3 ? null : value);

function randomEvent(): LeafContent {
  return {
    index: Math.floor(Math.random() * 2 ** 40),
    id: randomBytes(8).toString('hex'),
    at: new Date(Math.floor(Math.random() * 4e12)),
    actorType: pick(['app', 'officer', 'system', 'customer']),
    actorId: maybe(pick(strings)),
    action: pick(['contacts.authorize', pick(strings)]),
    decision: pick(['allow', 'deny', 'info']),
    subject: maybe(pick(strings)),
    purpose: maybe(pick(strings)),
    fields: Array.from({ length: Math.floor(Math.random() * 4) }, () => pick(strings)),
    reasons: Array.from({ length: Math.floor(Math.random() * 4) }, () =>
      pick([
        { code: pick(strings) },
        { code: pick(strings), detail: pick(strings) },
        { detail: pick(strings), code: pick(strings) },
        { code: pick(strings), extra: pick(strings) } as { code: string },
      ]),
    ),
    requestId: maybe(pick(strings)),
    policyVersion: pick(strings),
  };
}

describe('audit leaf entry', () => {
  it('writes exactly the RFC 8785 canonical JSON of the leaf members, for 5,000 random events', () => {
    const differing: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const event = randomEvent();
      if (leafEntryText(event) !== leafEntryReference(event)) differing.push(leafEntryReference(event));
    }
    expect(differing).toEqual([]);
  });

  it('pins the documented form of one event', () => {
    const event: LeafContent = {
      index: 12,
      id: 'evt',
      at: new Date('2026-11-23T10:00:00Z'),
      actorType: 'app',
      actorId: 'app_1',
      action: 'contacts.authorize',
      decision: 'deny',
      subject: 'sub_1',
      purpose: 'marketing',
      fields: [],
      reasons: [{ code: 'frequency-cap', detail: 'at most 1 per P1D' }],
      requestId: null,
      policyVersion: 'pv',
    };
    expect(leafEntryText(event)).toBe(
      '{"action":"contacts.authorize","actor":{"id":"app_1","type":"app"},"at":"2026-11-23T10:00:00.000Z","decision":"deny","fields":[],"id":"evt","index":12,"policyVersion":"pv","purpose":"marketing","reasons":[{"code":"frequency-cap","detail":"at most 1 per P1D"}],"requestId":null,"subject":"sub_1","v":2}',
    );
  });
});
