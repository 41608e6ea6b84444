import { randomInt } from 'node:crypto';
import { canonicalJson } from '../src/shared/canonical-json.ts';

/** The first implementation, kept as the reference: audit hashes already stored were computed with it. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const KEYS = ['a', 'B', 'b', 'ä', 'z', '10', '9', 'seq', 'reasons', '"quoted"', 'emoji😀', ''];
function randomValue(depth: number): unknown {
  const pick = randomInt(depth > 3 ? 6 : 9);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return randomInt(1_000_000) - 500_000;
    case 3:
      return randomInt(2) === 0;
    case 4:
      return ['', 'plain', 'line\nbreak', 'quote"', 'ünïcødé', '\u2028'][randomInt(6)];
    case 5:
      return randomInt(1000) / 7;
    case 6:
    case 7:
      return Object.fromEntries(Array.from({ length: randomInt(5) }, () => [KEYS[randomInt(KEYS.length)]!, randomValue(depth + 1)]));
    default:
      return Array.from({ length: randomInt(4) }, () => randomValue(depth + 1));
  }
}

describe('canonicalJson', () => {
  it('gives exactly the bytes of the reference implementation', () => {
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(0);
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('sorts keys and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, undefined, { d: undefined, c: 'x' }] })).toBe('{"a":[1,,{"c":"x"}],"b":1}');
  });
});
