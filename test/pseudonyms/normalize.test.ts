import { normalizeIdentifier } from '../../src/modules/pseudonyms/normalize.ts';

const phone = { kind: 'identifier' as const, normalize: 'phone' as const, sensitive: false };
const email = { kind: 'identifier' as const, normalize: 'email' as const, sensitive: false };
const card = { kind: 'identifier' as const, normalize: 'trim' as const, sensitive: false };
const value = (definition: typeof phone | typeof email | typeof card, raw: string) => normalizeIdentifier(definition, raw, 'CN');

describe('identifier normalization (NFKC, in one place)', () => {
  it('folds full-width digits and signs and no-break spaces into the plain form', () => {
    expect(value(phone, '１３８００１３８０００')).toEqual({ value: '+8613800138000' });
    expect(value(phone, '＋８６\u00a0138\u00a00013\u00a08000')).toEqual({ value: '+8613800138000' });
    expect(value(email, 'ＬＩ.ＮＡ@example.com')).toEqual({ value: 'li.na@example.com' });
    expect(value(card, '\u00a0M-1001\u3000')).toEqual({ value: 'M-1001' });
    expect(value(card, 'Ｍ－１００１')).toEqual({ value: 'M-1001' });
  });

  it('keeps look-alike letters of other scripts distinct, and refuses them in e-mail addresses', () => {
    const latin = value(card, 'card-a');
    const cyrillic = value(card, 'card-\u0430');
    expect(latin).not.toEqual(cyrillic);
    expect(value(email, 'p\u0430ypal@example.com')).toMatchObject({ problem: expect.any(String) });
  });

  it('refuses half surrogate pairs and control characters instead of replacing them', () => {
    for (const raw of ['SUR2-\ud800', 'SUR2-\udc00', '\udc00\ud800']) expect(value(card, raw)).toMatchObject({ problem: expect.stringContaining('surrogate') });
    expect(value(card, 'a\u0000b')).toMatchObject({ problem: expect.stringContaining('control') });
    expect(value(card, 'SUR2-\ud83d\ude00')).toEqual({ value: 'SUR2-\ud83d\ude00' });
    expect(value(card, 'SUR2-\ufffd')).toEqual({ value: 'SUR2-\ufffd' });
  });
});
