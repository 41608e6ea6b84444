import path from 'node:path';
import fc from 'fast-check';
import { consentCovers, foldConsent, type LedgerEntry } from '../../src/modules/consent/state.ts';
import { loadPolicy } from '../../src/modules/policies/load.ts';

/**
 * The consent fold against a naive model: the set of (channel, topic) uses a
 * person allows, kept as plain sets. A grant sets it to its channels × topics
 * (all of the purpose's when unnamed); a withdrawal takes channels, topics or
 * everything away; a grant past its expiry allows nothing. Any sequence of
 * grants, narrowings and withdrawals must allow exactly what the model does.
 */
describe('the consent fold', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));
  const definition = policy.purposes.marketing!;
  const allChannels = definition.channels;
  const allTopics = definition.topics;
  const start = Date.parse('2026-01-01T00:00:00Z');

  type Op = { kind: 'grant' | 'withdraw'; channels: string[] | null; topics: string[] | null; expiresAfter: number | null; gap: number };
  const some = (all: string[]) => fc.option(fc.subarray(all, { minLength: 1 }), { nil: null });
  const op: fc.Arbitrary<Op> = fc.record({
    kind: fc.constantFrom('grant' as const, 'withdraw' as const),
    channels: some(allChannels),
    topics: some(allTopics),
    expiresAfter: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
    gap: fc.integer({ min: 1, max: 20 }),
  });

  /** The model: which uses are allowed, and until when. */
  function model(ops: Op[], now: number): Set<string> {
    let allowed = new Set<string>();
    let expiresAt: number | null = null;
    let at = start;
    for (const o of ops) {
      at += o.gap * 1000;
      if (o.kind === 'grant') {
        allowed = new Set((o.channels ?? allChannels).flatMap((c) => (o.topics ?? allTopics).map((t) => `${c}/${t}`)));
        expiresAt = o.expiresAfter === null ? null : at + o.expiresAfter * 1000;
        continue;
      }
      if (expiresAt !== null && expiresAt <= at) allowed = new Set();
      if (o.channels === null && o.topics === null) allowed = new Set();
      for (const use of [...allowed]) {
        const [c, t] = use.split('/');
        if (o.channels?.includes(c!) || o.topics?.includes(t!)) allowed.delete(use);
      }
      // Nothing left on some axis: the consent is gone as a whole.
      const channelsLeft = new Set([...allowed].map((u) => u.split('/')[0]));
      const topicsLeft = new Set([...allowed].map((u) => u.split('/')[1]));
      if (channelsLeft.size === 0 || topicsLeft.size === 0) allowed = new Set();
    }
    if (expiresAt !== null && expiresAt <= now) allowed = new Set();
    return allowed;
  }

  function ledger(ops: Op[]): LedgerEntry[] {
    let at = start;
    return ops.map((o, i) => {
      at += o.gap * 1000;
      return {
        seq: i + 1,
        purpose: 'marketing',
        kind: o.kind,
        channels: o.channels,
        topics: o.topics,
        recipients: null,
        source: 'test',
        noticeVersion: null,
        expiresAt: o.kind === 'grant' && o.expiresAfter !== null ? new Date(at + o.expiresAfter * 1000) : null,
        gpc: false,
        receiptId: null,
        at: new Date(at),
      };
    });
  }

  it('allows exactly the uses the naive model allows, at any moment after the sequence', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), fc.integer({ min: 0, max: 100 }), (ops, later) => {
        const end = ops.reduce((at, o) => at + o.gap * 1000, start);
        const now = end + later * 1000;
        const state = foldConsent('marketing', definition, ledger(ops), new Date(now));
        const expected = model(ops, now);
        for (const channel of allChannels) {
          for (const topic of allTopics) expect(consentCovers(state, { channel, topic })).toBe(expected.has(`${channel}/${topic}`));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('ignores the entries of other purposes', () => {
    const entries = ledger([{ kind: 'grant', channels: null, topics: null, expiresAfter: null, gap: 1 }]).map((e) => ({ ...e, purpose: 'support' }));
    expect(foldConsent('marketing', definition, entries, new Date(start + 10_000)).status).toBe('none');
  });
});
