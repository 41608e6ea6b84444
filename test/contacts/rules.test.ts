import path from 'node:path';
import { emptyConsent } from '../../src/modules/consent/state.ts';
import type { ConsentState } from '../../src/modules/consent/schema.ts';
import { DENY_CODES, evaluateContact, type ContactFacts, type ContactRequest, type DenyReason } from '../../src/modules/contacts/rules.ts';
import { loadPolicy } from '../../src/modules/policies/load.ts';

/** The contact rules as the pure function both authorize and scrub call. */
describe('evaluateContact', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));
  const consented = { allowed: true, state: null };
  const facts = (over: Partial<ContactFacts> = {}): ContactFacts => ({ appPurposes: ['marketing', 'support'], consent: consented, doNotCallSources: [], timezone: null, held: [], ...over });
  // 22:30 in Shanghai, the example policy's defaults.timezone; 09:30 in Berlin.
  const lateInShanghai = new Date('2026-05-10T14:30:00Z');

  it('falls back to defaults.timezone for quiet hours when the subject has no zone', () => {
    expect(evaluateContact(policy, { channel: 'call', purpose: 'marketing' }, facts(), lateInShanghai).reasons).toEqual([{ code: 'quiet-hours', detail: '21:00-08:00 in Asia/Shanghai' }]);
    expect(evaluateContact(policy, { channel: 'call', purpose: 'marketing' }, facts({ timezone: 'Europe/Berlin' }), lateInShanghai).reasons).toEqual([]);
  });

  it('refuses a purpose the app was not granted', () => {
    const { reasons } = evaluateContact(policy, { channel: 'email', purpose: 'marketing' }, facts({ appPurposes: ['support'], timezone: 'Europe/Berlin' }), lateInShanghai);
    expect(reasons).toEqual([{ code: 'purpose-not-granted', detail: 'this app is not granted marketing' }]);
  });

  it('offers retryAfter only when waiting helps', () => {
    const held = [{ purpose: 'marketing', reservedAt: new Date(lateInShanghai.getTime() - 3600_000) }];
    const waiting = evaluateContact(policy, { channel: 'call', purpose: 'marketing' }, facts({ held }), lateInShanghai);
    expect(waiting.reasons.map((r) => r.code)).toEqual(['quiet-hours', 'frequency-cap']);
    expect(waiting.retryAfter).toEqual(new Date('2026-05-11T13:30:00Z')); // the later of 08:00 Shanghai and the cap's window end
    const listed = evaluateContact(policy, { channel: 'call', purpose: 'marketing' }, facts({ doNotCallSources: ['national'] }), lateInShanghai);
    expect(listed.retryAfter).toBeUndefined();
  });
});

/**
 * Every deny code the rules can give, each from the smallest facts that
 * produce it (and nothing else), so a change to one rule shows up here as
 * the code it affects. The table must name every code in DENY_CODES.
 */
describe('evaluateContact, one case per deny code', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));
  // 11:00 in Shanghai (the example policy's default zone): outside quiet hours.
  const midday = new Date('2026-05-11T03:00:00Z');
  const state = (over: Partial<ConsentState>): ConsentState => ({
    ...emptyConsent('marketing'),
    status: 'active',
    channels: ['email', 'sms', 'call'],
    topics: ['cat-food', 'dog-food', 'bird-food'],
    grantedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  });
  const base: ContactFacts = { appPurposes: ['marketing', 'support'], consent: { allowed: true, state: null }, doNotCallSources: [], timezone: null, held: [] };
  const refused = (state: ConsentState): ContactFacts['consent'] => ({ allowed: false, state });
  const hoursAgo = (h: number) => new Date(midday.getTime() - h * 3600_000);

  const cases: Array<[DenyReason['code'], ContactRequest, Partial<ContactFacts>, Date?]> = [
    ['purpose-not-granted', { channel: 'email', purpose: 'marketing' }, { appPurposes: ['support'] }],
    ['channel-not-allowed', { channel: 'wechat', purpose: 'support' }, {}],
    ['no-consent', { channel: 'email', purpose: 'marketing' }, { consent: refused(emptyConsent('marketing')) }],
    ['consent-expired', { channel: 'email', purpose: 'marketing' }, { consent: refused(state({ status: 'expired', expiresAt: '2026-05-01T00:00:00.000Z' })) }],
    ['opted-out', { channel: 'email', purpose: 'marketing' }, { consent: refused(state({ status: 'withdrawn' })) }],
    ['topic-opted-out', { channel: 'email', purpose: 'marketing', topic: 'bird-food' }, { consent: refused(state({ topics: ['cat-food', 'dog-food'], withdrawnTopics: ['bird-food'] })) }],
    ['outside-consent-scope', { channel: 'call', purpose: 'marketing' }, { consent: refused(state({ channels: ['email'] })) }],
    ['recipient-not-consented', { channel: 'email', purpose: 'marketing', recipient: 'partner-b' }, { consent: refused(state({ recipients: ['partner-a'] })) }],
    ['do-not-call', { channel: 'call', purpose: 'marketing' }, { doNotCallSources: ['national-registry'] }],
    ['frequency-cap', { channel: 'call', purpose: 'marketing' }, { held: [{ purpose: 'marketing', reservedAt: hoursAgo(2) }] }],
    ['quiet-hours', { channel: 'sms', purpose: 'marketing' }, {}, new Date('2026-05-10T14:30:00Z')],
  ];

  it('covers every code the rules can give', () => {
    expect(cases.map(([code]) => code).sort()).toEqual([...DENY_CODES].sort());
  });

  it.each(cases.map(([code, request, over, at]) => ({ code, request, over, at })))('$code', ({ code, request, over, at }) => {
    const { reasons } = evaluateContact(policy, request, { ...base, ...over }, at ?? midday);
    expect(reasons.map((r) => r.code)).toEqual([code]);
    expect(reasons[0]!.detail).not.toBe('');
  });

  it('allows the same requests once the obstacle is gone', () => {
    for (const [, request] of cases) {
      const purposeChannels = policy.purposes[request.purpose]!.channels;
      if (!purposeChannels.includes(request.channel)) continue;
      expect({ request, reasons: evaluateContact(policy, request, base, midday).reasons }).toEqual({ request, reasons: [] });
    }
  });

  it('gives every failing reason at once, not the first', () => {
    const { reasons } = evaluateContact(
      policy,
      { channel: 'call', purpose: 'marketing', topic: 'bird-food' },
      {
        ...base,
        consent: refused(state({ channels: ['email'], withdrawnTopics: ['bird-food'], topics: ['cat-food'] })),
        doNotCallSources: ['internal'],
        held: [{ purpose: 'marketing', reservedAt: hoursAgo(1) }],
      },
      new Date('2026-05-10T14:30:00Z'),
    );
    expect(reasons.map((r) => r.code)).toEqual(['outside-consent-scope', 'topic-opted-out', 'do-not-call', 'quiet-hours', 'frequency-cap']);
  });
});
