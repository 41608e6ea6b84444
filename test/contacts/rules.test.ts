import path from 'node:path';
import { evaluateContact, type ContactFacts } from '../../src/modules/contacts/rules.ts';
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
