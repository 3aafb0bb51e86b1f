import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, REPO_ROOT } from 'test/support/http';
import { CompactClock, compactMs, EPOCH_SPAN_MS } from './compact-ms';

describe('compactMs', () => {
  it('keeps a whole time the same, a fractional one rounded down', () => {
    expect([0, 1, 999, 60_000, 2 ** 31 - 1, -1, -(2 ** 31)].map(compactMs)).toEqual([
      0,
      1,
      999,
      60_000,
      2 ** 31 - 1,
      -1,
      -(2 ** 31),
    ]);
    expect([0.5, 999.999, -1.5].map(compactMs)).toEqual([0, 999, -2]);
  });

  it('leaves a time outside the int32 range a number as it is, rounded down', () => {
    const wall = Date.now();
    expect([2 ** 31, wall, wall + 0.7, -(2 ** 31) - 1].map(compactMs)).toEqual([
      2 ** 31,
      wall,
      wall,
      -(2 ** 31) - 1,
    ]);
  });
});

describe('CompactClock', () => {
  let wall: number;
  let rebased: number[];
  let clock: CompactClock;

  beforeEach(() => {
    wall = Date.now();
    rebased = [];
    clock = new CompactClock(
      () => wall,
      (delta) => rebased.push(delta),
    );
  });

  it('reads ms since it was made', () => {
    expect(clock.now()).toBe(0);
    wall += 1_234.9;
    expect(clock.now()).toBe(1_234);
    expect(rebased).toEqual([]);
  });

  it('moves its epoch to the present when it is EPOCH_SPAN_MS old, after the owner shifted its times', () => {
    // An owner's time 60 s ahead, kept across the move: still 60 s ahead of the clock after it.
    let kept = compactMs(clock.now() + 60_000);
    clock = new CompactClock(
      () => wall,
      (delta) => {
        rebased.push(delta);
        kept = compactMs(kept - delta);
      },
    );
    wall += EPOCH_SPAN_MS - 1;
    expect(clock.now()).toBe(EPOCH_SPAN_MS - 1);
    kept = compactMs(clock.now() + 60_000);
    wall += 1;
    expect(clock.now()).toBe(0);
    expect(rebased).toEqual([EPOCH_SPAN_MS]);
    expect(kept - clock.now()).toBe(59_999);
    wall += 59_999;
    expect(kept - clock.now()).toBe(0);
  });

  it('moves its epoch back when the clock is set back before it; readings never go negative', () => {
    wall += 5_000;
    expect(clock.now()).toBe(5_000);
    wall -= 3_600_000;
    expect(clock.now()).toBe(0);
    expect(rebased).toEqual([-3_595_000]);
    wall += 10;
    expect(clock.now()).toBe(10);
  });
});

/**
 * What the small integers are for, checked in V8 itself: a plain `node --allow-natives-syntax`
 * on the compiled classes prints (`%DebugPrint`) an object that keeps times, and a field holding
 * a boxed number shows as `<HeapNumber …>` where a small integer shows as the number. Each class
 * runs on the wall clock, past an epoch move (fake clock) and after a clock set back.
 */
describe('the times kept by caches, rate-limit windows and tenant budgets (in V8)', () => {
  beforeAll(() => ensureBuilt(), 240_000);

  it('are small integers held in the objects themselves', () => {
    const dist = (path: string) => JSON.stringify(join(REPO_ROOT, 'dist', 'src', path));
    const script = `
      const { LruTtlCache } = require(${dist('core/cache/lru-ttl-cache.js')});
      const { MemoryThrottlerStorage } = require(${dist('core/rate-limit/memory-throttler.storage.js')});
      const { TenantBudget } = require(${dist('core/database/tenant-pool-share.js')});
      let wall = Date.now();
      const clock = () => wall;
      const cache = new LruTtlCache(10, 60_000, { now: clock });
      const storage = new MemoryThrottlerStorage(clock);
      const budget = new TenantBudget(100, 1_000, () => new Error('refused'), clock);
      const fields = () => {
        cache.set('k', 'v', 30_000.5, true);
        cache.get('k', true);
        storage.incrementNow('w', 60_000, 1, 60_000);
        storage.incrementNow('w', 60_000, 1, 60_000);
        budget.spend('t', 10.5);
        %DebugPrint(cache.entries.get('k'));
        %DebugPrint(storage.windows.get('w'));
        %DebugPrint(budget.buckets.get('t'));
      };
      fields();
      wall += 13 * 24 * 3_600_000; // past the epoch's span
      fields();
      wall -= 3_600_000; // set back an hour, before the epoch
      fields();
      storage.onApplicationShutdown();`;
    const run = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(0);
    const timeFields = run.stdout
      .split('\n')
      .map((line) => /#(expiresAt|blockedUntil|at): (.*?) \(/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map(([, name, value]) => `${name}: ${/HeapNumber/.test(value) ? 'boxed' : 'small integer'}`);
    // Three rounds of: the entry's expiresAt, the window's expiresAt and blockedUntil, the bucket's at.
    expect(timeFields).toEqual(
      Array.from({ length: 3 }, () => [
        'expiresAt: small integer',
        'expiresAt: small integer',
        'blockedUntil: small integer',
        'at: small integer',
      ]).flat(),
    );
  });
});
