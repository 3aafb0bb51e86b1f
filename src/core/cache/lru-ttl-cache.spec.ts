import { LruTtlCache } from './lru-ttl-cache';

describe('LruTtlCache', () => {
  let now: number;
  const cache = (max = 3, ttl = 1_000) => new LruTtlCache<string>(max, ttl, () => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('serves an entry for its TTL, then forgets it', () => {
    const c = cache();
    c.set('a', 'A');
    now += 999;
    expect(c.get('a')).toBe('A');
    now += 1;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('renews a renewable entry on a renewing read, never revives an expired one', () => {
    const c = cache();
    c.set('r', 'R', undefined, true);
    c.set('plain', 'P');
    now += 900;
    expect(c.get('r', true)).toBe('R');
    expect(c.get('plain', true)).toBe('P');
    now += 900; // 1,800 ms after storing: only the renewed entry lives
    expect(c.get('plain', true)).toBeUndefined();
    expect(c.get('r')).toBe('R');
    now += 100; // a plain read did not renew it: its TTL counts from the renewing read
    expect(c.get('r', true)).toBeUndefined();
  });

  it('takes a shorter TTL per entry, never a longer one than its own', () => {
    const c = cache();
    c.set('short', 'S', 100);
    c.set('long', 'L', 5_000);
    now += 100;
    expect(c.get('short')).toBeUndefined();
    now += 899;
    expect(c.get('long')).toBe('L');
    now += 1;
    expect(c.get('long')).toBeUndefined();
  });

  it('evicts the least recently used entry when full (a read counts as use)', () => {
    const c = cache();
    c.set('a', 'A');
    c.set('b', 'B');
    c.set('c', 'C');
    expect(c.get('a')).toBe('A');
    c.set('d', 'D');
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual(['A', 'C', 'D']);
  });

  it('deleteWhere drops exactly the entries whose key passes the test', () => {
    const c = cache(10);
    for (const key of ['t1:x', 't1:y', 't2:x']) c.set(key, key.toUpperCase());
    expect(c.deleteWhere((key) => key.startsWith('t1:'))).toBe(2);
    expect([c.get('t1:x'), c.get('t1:y'), c.get('t2:x')]).toEqual([undefined, undefined, 'T2:X']);
  });
});
