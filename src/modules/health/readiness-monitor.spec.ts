import type { HttpAdapterHost } from '@nestjs/core';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { loadConfig } from 'src/core/config/boards-config';
import { strictMock } from 'test/support/strict-mock';
import { DATABASE_TIMEOUT_MS, type HealthIndicators } from './health-indicators';
import { ReadinessMonitor } from './readiness-monitor';

/**
 * The background readiness checks, with fake indicators that count their runs and fake timers: one
 * run answers any number of probes, runs repeat every interval one at a time, a hung run makes
 * the answer fail once the staleness limit has passed, and shutdown stops the refresher.
 */

const INTERVAL_MS = 1_000;
const STALE_AFTER_MS = 3 * INTERVAL_MS + DATABASE_TIMEOUT_MS;
const UP: HealthIndicatorResult[] = [
  { database: { status: 'up', embedded: false } },
  { redis: { status: 'up', configured: false } },
  { migrations: { status: 'up', applied: 6 } },
  { isolation: { status: 'up', isolation_status: 'ok' } },
];

describe('ReadinessMonitor', () => {
  let runs: number;
  let databaseUp: boolean;
  /** Set: the next runs of the database check hang until `release` is called. */
  let hang: boolean;
  let release: () => void;
  let monitor: ReadinessMonitor;

  const create = (withHttpServer = true) =>
    new ReadinessMonitor(
      { httpAdapter: withHttpServer ? {} : undefined } as HttpAdapterHost,
      strictMock<HealthIndicators>({
        database: (): Promise<HealthIndicatorResult> => {
          runs++;
          const result: HealthIndicatorResult = databaseUp
            ? UP[0]
            : { database: { status: 'down', message: 'database unreachable' } };
          if (!hang) return Promise.resolve(result);
          return new Promise((done) => {
            release = () => done(result);
          });
        },
        redis: () => Promise.resolve(UP[1]),
        migrations: () => Promise.resolve(UP[2]),
        isolation: () => Promise.resolve(UP[3]),
      }),
      loadConfig({ BOARDS_READINESS_REFRESH_MS: String(INTERVAL_MS) }),
    );

  beforeEach(() => {
    jest.useFakeTimers();
    runs = 0;
    databaseUp = true;
    hang = false;
    release = () => undefined;
    monitor = create();
  });

  afterEach(() => {
    monitor.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  it('waits for the first run, then answers any number of calls from it', async () => {
    monitor.onApplicationBootstrap();
    const answers = await Promise.all(Array.from({ length: 200 }, () => monitor.current()));
    expect(runs).toBe(1);
    for (const answer of answers) expect(answer).toEqual(UP);
    expect(await monitor.current()).toEqual(UP);
    expect(runs).toBe(1);
  });

  it('runs the checks once itself when a call comes before any run (no refresher yet)', async () => {
    expect(await monitor.current()).toEqual(UP);
    expect(runs).toBe(1);
  });

  it('refreshes every interval and answers with the latest run', async () => {
    monitor.onApplicationBootstrap();
    await monitor.current();
    databaseUp = false;
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(runs).toBe(1);
    expect(await monitor.current()).toEqual(UP);

    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    expect((await monitor.current())[0]).toEqual({
      database: { status: 'down', message: 'database unreachable' },
    });

    await jest.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    expect(runs).toBe(7);
  });

  it('never overlaps runs: a slow run delays the next', async () => {
    monitor.onApplicationBootstrap();
    await monitor.current();
    hang = true;
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs).toBe(2);
    hang = false;
    release();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(runs).toBe(3);
  });

  it('fails with a `checks` entry once no run has completed within the staleness limit', async () => {
    expect(monitor.staleAfterMs).toBe(STALE_AFTER_MS);
    monitor.onApplicationBootstrap();
    await monitor.current();
    hang = true;
    // The last completed run is exactly at the limit: still answered as it is.
    await jest.advanceTimersByTimeAsync(STALE_AFTER_MS);
    expect(await monitor.current()).toEqual(UP);

    await jest.advanceTimersByTimeAsync(1);
    const stale = await monitor.current();
    expect(stale.slice(0, 4)).toEqual(UP);
    expect(stale[4]).toEqual({
      checks: {
        status: 'down',
        message: `the readiness checks last completed ${STALE_AFTER_MS + 1} ms ago (limit ${STALE_AFTER_MS} ms)`,
      },
    });

    // The hung run completes: fresh again.
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(await monitor.current()).toEqual(UP);
  });

  it('answers with a failing `checks` entry when the first run does not complete in time', async () => {
    hang = true;
    monitor.onApplicationBootstrap();
    const answer = monitor.current();
    await jest.advanceTimersByTimeAsync(STALE_AFTER_MS);
    expect(await answer).toEqual([
      { checks: { status: 'down', message: 'the readiness checks have not completed yet' } },
    ]);
    expect(runs).toBe(1);
  });

  it('stops refreshing at shutdown', async () => {
    monitor.onApplicationBootstrap();
    await monitor.current();
    monitor.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('starts no refresher without an HTTP server (CLI commands)', async () => {
    monitor = create(false);
    monitor.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs).toBe(0);
  });
});
