import { LruTtlCache } from './lru-ttl-cache';

describe('LruTtlCache', () => {
  let now: number;
  const cache = (max = 3, ttl = 1_000) => new LruTtlCache<string>(max, ttl, { now: () => now });
  /** Bounded by 100 bytes, each entry weighing its key's and value's lengths. */
  const byteCache = (maxEntryBytes?: number) =>
    new LruTtlCache<string>(100, 1_000, {
      now: () => now,
      bytes: { maxBytes: 100, maxEntryBytes, sizeOf: (key, value) => key.length + value.length },
    });

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

  it('keeps time as absolute readings would, on a wall clock, across epoch moves, set back', () => {
    now = Date.now();
    const c = cache(3, 60_000);
    now += 30 * 24 * 3_600_000;
    c.set('a', 'A', 1_000);
    c.set('b', 'B', undefined, true);
    now += 999;
    expect([c.get('a'), c.get('b', true)]).toEqual(['A', 'B']);
    now += 1;
    expect(c.get('a')).toBeUndefined();
    now += 59_998; // 59,999 ms after the renewing read
    expect(c.get('b')).toBe('B');
    now += 1;
    expect(c.get('b')).toBeUndefined();
    // Set back by an hour: an entry stored before lives an hour longer, as it would on absolute times.
    c.set('c', 'C', 1_000);
    now -= 3_600_000;
    now += 3_600_999;
    expect(c.get('c')).toBe('C');
    now += 1;
    expect(c.get('c')).toBeUndefined();
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

  it('in a large cache, keeps an entry read once per quarter of its turnover, evicts unread ones', () => {
    const c = cache(100);
    // 1,100 entries pass through; k0 is read after every 20 (a fifth of the cache), k1 never.
    for (let i = 0; i < 1_100; i++) {
      c.set(`k${i}`, `v${i}`);
      if (i % 20 === 19) expect(c.get('k0')).toBe('v0');
    }
    expect(c.get('k0')).toBe('v0');
    expect(c.get('k1')).toBeUndefined();
    expect(c.size).toBe(100);
    // The other survivors are the 99 newest entries: eviction still takes the oldest.
    expect(c.get('k1000')).toBeUndefined();
    expect(c.get('k1001')).toBe('v1001');
  });

  it('deleteWhere drops exactly the entries whose key passes the test', () => {
    const c = cache(10);
    for (const key of ['t1:x', 't1:y', 't2:x']) c.set(key, key.toUpperCase());
    expect(c.deleteWhere((key) => key.startsWith('t1:'))).toBe(2);
    expect([c.get('t1:x'), c.get('t1:y'), c.get('t2:x')]).toEqual([undefined, undefined, 'T2:X']);
  });

  describe('with a byte budget', () => {
    it('evicts least recently used entries until the new one fits (a read counts as use)', () => {
      const c = byteCache();
      c.set('a', 'A'.repeat(29)); // 30 bytes
      c.set('b', 'B'.repeat(29));
      c.set('c', 'C'.repeat(29));
      expect([c.size, c.bytes]).toEqual([3, 90]);
      expect(c.get('a')).toBeDefined();
      c.set('d', 'D'.repeat(49)); // 50 bytes: b and c must go (LRU first), a stays
      expect([c.get('b'), c.get('c')]).toEqual([undefined, undefined]);
      expect([c.get('a')?.length, c.get('d')?.length]).toEqual([29, 49]);
      expect([c.size, c.bytes]).toEqual([2, 80]);
    });

    it('an entry may fill the whole budget, alone', () => {
      const c = byteCache();
      c.set('a', 'A');
      c.set('z', 'Z'.repeat(99));
      expect([c.get('a'), c.size, c.bytes]).toEqual([undefined, 1, 100]);
    });

    it('does not store an entry over the per-entry cap (nor one over the whole budget), and drops what it replaces', () => {
      const c = byteCache(20);
      c.set('k', 'small');
      c.set('other', 'x');
      c.set('k', 'L'.repeat(20)); // 21 bytes > 20
      expect([c.get('k'), c.get('other'), c.size, c.bytes]).toEqual([undefined, 'x', 1, 6]);

      const whole = byteCache();
      whole.set('big', 'B'.repeat(98)); // 101 bytes > 100: nothing else is evicted for it
      expect([whole.size, whole.bytes]).toEqual([0, 0]);
    });

    it('replacing an entry replaces its weight', () => {
      const c = byteCache();
      c.set('k', 'v'.repeat(9));
      expect(c.bytes).toBe(10);
      c.set('k', 'v'.repeat(49));
      expect([c.size, c.bytes]).toEqual([1, 50]);
      c.set('k', 'v');
      expect([c.size, c.bytes]).toEqual([1, 2]);
    });

    it('frees the bytes of an expired entry when it is read, and of deleted and cleared ones', () => {
      const c = byteCache();
      c.set('short', 'S'.repeat(15), 100); // 20 bytes
      c.set('long', 'L'.repeat(16)); // 20 bytes
      now += 100;
      expect(c.get('short')).toBeUndefined();
      expect([c.size, c.bytes]).toEqual([1, 20]);
      c.set('t1:x', 'x');
      c.set('t2:y', 'y');
      expect(c.deleteWhere((key) => key.startsWith('t1:'))).toBe(1);
      c.delete('long');
      expect([c.size, c.bytes]).toEqual([1, 5]);
      c.clear();
      expect([c.size, c.bytes]).toEqual([0, 0]);
    });

    it('still holds the entry bound, and weighs nothing without a budget', () => {
      const c = new LruTtlCache<string>(2, 1_000, {
        now: () => now,
        bytes: { maxBytes: 1_000, sizeOf: () => 1 },
      });
      for (const key of ['a', 'b', 'c']) c.set(key, key);
      expect([c.size, c.bytes, c.get('a')]).toEqual([2, 2, undefined]);

      const unbounded = cache();
      unbounded.set('a', 'A'.repeat(10_000));
      expect(unbounded.bytes).toBe(0);
    });
  });
});
