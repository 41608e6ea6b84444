import { ExpiringCache } from '../src/shared/expiring-cache.ts';

describe('ExpiringCache', () => {
  it('forgets entries at their expiry instant', () => {
    const cache = new ExpiringCache<string>(10);
    cache.set('a', 'token', 1000);
    expect(cache.get('a', 999)).toBe('token');
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new ExpiringCache<number>(2);
    cache.set('a', 1, Infinity);
    cache.set('b', 2, Infinity);
    cache.get('a');
    cache.set('c', 3, Infinity);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
  });
});
