import { randomBytes } from 'node:crypto';
import { identifierDigest, identifierTag, tagOfDigest } from '../../src/modules/pseudonyms/derive.ts';

describe('identifier tags', () => {
  it('are the first 64 bits of the identifier digest, so lists of tags match digests computed elsewhere', () => {
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(32);
      const phone = `+86138${String(i).padStart(8, '0')}`;
      expect(identifierTag(key, 'phone', phone)).toBe(tagOfDigest(identifierDigest(key, 'phone', phone)));
    }
  });

  it('differ by key and by kind', () => {
    const key = randomBytes(32);
    expect(identifierTag(key, 'phone', '+8613800138000')).not.toBe(identifierTag(randomBytes(32), 'phone', '+8613800138000'));
    expect(identifierTag(key, 'phone', '+8613800138000')).not.toBe(identifierTag(key, 'memberCard', '+8613800138000'));
  });
});
