import {
  SearchBudgetError,
  TenantBusyError,
  TenantPoolShare,
  TenantTimeBudget,
} from './tenant-pool-share';

describe('TenantPoolShare', () => {
  afterEach(() => jest.useRealTimers());

  it('is its percent of the pool, at least one connection', () => {
    expect(TenantPoolShare.fromPool(10, 50, 100).perTenant).toBe(5);
    expect(TenantPoolShare.fromPool(10, 100, 100).perTenant).toBe(10);
    expect(TenantPoolShare.fromPool(1, 50, 100).perTenant).toBe(1);
    expect(TenantPoolShare.fromPool(3, 1, 100).perTenant).toBe(1);
  });

  it('lets a tenant hold its share at once; the next waits its turn, first come first served', async () => {
    const share = new TenantPoolShare(2, 1_000);
    const a1 = (await share.acquire('a')) as () => void;
    const a2 = (await share.acquire('a')) as () => void;
    expect(share.heldBy('a')).toBe(2);
    const order: string[] = [];
    const third = Promise.resolve(share.acquire('a')).then((release) => {
      order.push('third');
      return release;
    });
    const fourth = Promise.resolve(share.acquire('a')).then((release) => {
      order.push('fourth');
      return release;
    });
    // Another tenant is not held up by a's queue.
    const b = (await share.acquire('b')) as () => void;
    expect(share.heldBy('b')).toBe(1);
    await new Promise((done) => setImmediate(done));
    expect(order).toEqual([]);
    a1();
    const release3 = await third;
    expect(order).toEqual(['third']);
    expect(share.heldBy('a')).toBe(2);
    a2();
    const release4 = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    release3();
    release4();
    // Releasing twice changes nothing.
    release4();
    b();
    expect(share.heldBy('a')).toBe(0);
    expect(share.heldBy('b')).toBe(0);
  });

  it('answers TenantBusyError (429, tenant_busy, Retry-After) after the queue time, and forgets the waiter', async () => {
    jest.useFakeTimers();
    const share = new TenantPoolShare(1, 500);
    const held = (await share.acquire('a')) as () => void;
    const waiting = Promise.resolve(share.acquire('a'));
    const outcome = waiting.then(
      () => 'granted',
      (err: unknown) => err,
    );
    jest.advanceTimersByTime(499);
    await Promise.resolve();
    jest.advanceTimersByTime(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TenantBusyError);
    expect((error as TenantBusyError).apiCode).toBe('tenant_busy');
    expect((error as TenantBusyError).extra).toEqual({});
    expect((error as TenantBusyError).headers).toEqual({ 'Retry-After': '1' });
    expect(share.rejected).toBe(1);
    // The timed-out waiter is not granted the place later.
    held();
    expect(share.heldBy('a')).toBe(0);
  });

  it('with no queue time refuses at once', async () => {
    const share = new TenantPoolShare(1, 0);
    const held = (await share.acquire('a')) as () => void;
    await expect(Promise.resolve(share.acquire('a'))).rejects.toBeInstanceOf(TenantBusyError);
    held();
  });
});

describe('TenantTimeBudget', () => {
  it('lets searches start while the tenant is not in debt, charges their time, refills steadily', () => {
    let now = 0;
    const budget = new TenantTimeBudget(250, 1_000, () => now);
    const search = (ms: number) => {
      const charge = budget.start('a');
      now += ms;
      charge();
    };
    // 1 s to spend, refilled at 250 ms a second (100 ms per 400 ms search, up to the burst):
    // 600 → 300 → 0, and the fourth may still start (not in debt), leaving 300 ms of debt.
    for (const expected of [600, 300, 0, -300]) {
      search(400);
      expect(budget.availableTo('a')).toBeCloseTo(expected, 5);
    }
    const error = (() => {
      try {
        budget.start('a');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SearchBudgetError);
    expect((error as SearchBudgetError).apiCode).toBe('search_budget_exhausted');
    expect((error as SearchBudgetError).extra).toEqual({});
    expect((error as SearchBudgetError).headers).toEqual({ 'Retry-After': '2' });
    // Another tenant is untouched.
    expect(() => budget.start('b')()).not.toThrow();
    // The debt of 300 ms is gone after 1.2 s; the bucket stops at its burst.
    now += 1_200;
    expect(budget.availableTo('a')).toBeCloseTo(0, 5);
    expect(() => budget.start('a')).not.toThrow();
    now += 60_000;
    expect(budget.availableTo('a')).toBe(1_000);
  });

  it('charges once however often the charge is called', () => {
    let now = 0;
    const budget = new TenantTimeBudget(100, 1_000, () => now);
    const charge = budget.start('a');
    now += 200;
    charge();
    charge();
    expect(budget.availableTo('a')).toBeCloseTo(800, 5);
  });

  it('refills by the wall clock from its own start, also past 2^31 ms of its life', () => {
    let now = Date.now();
    const budget = new TenantTimeBudget(250, 1_000, () => now);
    now += 30 * 24 * 3_600_000;
    const charge = budget.start('a');
    now += 1_400;
    charge(); // 1,400 ms spent: 400 ms of debt
    expect(budget.availableTo('a')).toBe(-400);
    expect(() => budget.start('a')).toThrow(SearchBudgetError);
    now += 1_600; // refilled at 250 ms a second
    expect(budget.availableTo('a')).toBe(0);
    expect(() => budget.start('a')).not.toThrow();
  });
});
