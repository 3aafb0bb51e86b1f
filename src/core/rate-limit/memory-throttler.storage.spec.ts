import { MemoryThrottlerStorage } from './memory-throttler.storage';

describe('MemoryThrottlerStorage', () => {
  let clock: number;
  let storage: MemoryThrottlerStorage;

  beforeEach(() => {
    clock = 1_000_000;
    storage = new MemoryThrottlerStorage(() => clock);
  });

  afterEach(() => storage.onApplicationShutdown());

  it('counts hits in a fixed window and blocks past the limit for blockDuration', async () => {
    for (let i = 1; i <= 3; i++) {
      expect(await storage.increment('k', 60_000, 3, 60_000)).toEqual({
        totalHits: i,
        timeToExpire: 60,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
    }
    expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({
      totalHits: 4,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    clock += 30_000;
    expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 30,
    });
    clock += 30_001;
    expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('keeps keys apart', async () => {
    await storage.increment('a', 1_000, 1, 1_000);
    expect(await storage.increment('a', 1_000, 1, 1_000)).toMatchObject({ isBlocked: true });
    expect(await storage.increment('b', 1_000, 1, 1_000)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('starts a new window once the old one expired', async () => {
    await storage.increment('k', 1_000, 5, 1_000);
    clock += 1_000;
    expect(await storage.increment('k', 1_000, 5, 1_000)).toMatchObject({
      totalHits: 1,
      timeToExpire: 1,
    });
  });

  it('answers as absolute times would: a month on, across epoch moves, with the clock set back', async () => {
    clock = Date.now();
    const wall = new MemoryThrottlerStorage(() => clock);
    try {
      clock += 30 * 24 * 3_600_000; // past two moves of the storage's epoch
      await wall.increment('k', 1_000, 1, 5_000);
      expect(await wall.increment('k', 1_000, 1, 5_000)).toMatchObject({
        isBlocked: true,
        timeToBlockExpire: 5,
      });
      clock += 5_000;
      expect(await wall.increment('k', 1_000, 1, 5_000)).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });

      // A clock set back before the storage was made: a new key counts from the new reading,
      // its window and its block last their full length, and end when they should.
      clock -= 40 * 24 * 3_600_000;
      expect(await wall.increment('new', 1_000, 1, 5_000)).toEqual({
        totalHits: 1,
        timeToExpire: 1,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      expect(await wall.increment('new', 1_000, 1, 5_000)).toMatchObject({
        isBlocked: true,
        timeToBlockExpire: 5,
      });
      clock += 4_999;
      expect(await wall.increment('new', 1_000, 1, 5_000)).toMatchObject({
        isBlocked: true,
        timeToBlockExpire: 1,
      });
      clock += 1;
      expect(await wall.increment('new', 1_000, 1, 5_000)).toEqual({
        totalHits: 1,
        timeToExpire: 1,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
      // A key blocked before a smaller step back stays blocked as long as absolute times say.
      await wall.increment('b', 60_000, 1, 10_000);
      await wall.increment('b', 60_000, 1, 10_000);
      clock -= 3_000;
      expect(await wall.increment('b', 60_000, 1, 10_000)).toMatchObject({
        isBlocked: true,
        timeToBlockExpire: 13,
      });
    } finally {
      wall.onApplicationShutdown();
    }
  });
});
