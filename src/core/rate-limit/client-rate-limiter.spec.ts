import { ClientRateLimiter } from './client-rate-limiter';

describe('ClientRateLimiter (memory)', () => {
  let now: number;
  const limiter = (limit: number) => new ClientRateLimiter(limit, 60_000, undefined, () => now);

  beforeEach(() => {
    now = 1_700_000_000_000 - (1_700_000_000_000 % 60_000); // the start of a window
  });

  it('allows `limit` hits a window per key, then refuses until the window ends', () => {
    const requests = limiter(3);
    expect([1, 2, 3, 4].map(() => requests.hit('a').allowed)).toEqual([true, true, true, false]);
    expect(requests.hit('b').allowed).toBe(true);
    now += 15_000;
    expect(requests.hit('a')).toEqual({ allowed: false, retryAfterSeconds: 45 });
    now += 45_000;
    expect(requests.hit('a').allowed).toBe(true);
  });

  it('check() says whether one more hit would pass, without counting one', () => {
    const refusals = limiter(2);
    expect(refusals.check('a').allowed).toBe(true);
    refusals.hit('a');
    expect(refusals.check('a').allowed).toBe(true);
    expect(refusals.check('a').allowed).toBe(true);
    refusals.hit('a');
    expect(refusals.check('a').allowed).toBe(false);
  });

  it('keeps a bounded number of keys, dropping ended windows first', () => {
    const requests = limiter(1);
    for (let i = 0; i < 100_000; i++) requests.hit(`old-${i}`);
    requests.hit('hot');
    now += 60_000;
    for (let i = 0; i < 100_001; i++) requests.hit(`new-${i}`);
    // Over the bound the oldest keys went; the newest is still counted.
    expect(requests.hit('new-100000').allowed).toBe(false);
    expect(requests.hit('old-1').allowed).toBe(true);
  });
});
