import { createTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { cleanEnv, ensureBuilt, freePort } from 'test/support/http';
import {
  killServer,
  spawnServer,
  waitUntilReady,
  type ServerProcess,
} from 'test/support/server-process';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';
import { startThrowawayRedis, type ThrowawayRedis } from 'test/support/throwaway-services';

/**
 * Redis (shared cache and rate-limit counters) stopped for 10 s under a mixed load: no request
 * fails with a 5xx (rate limits fall back to memory, the cache to its in-process tier), and the
 * readiness probe says Redis is down meanwhile.
 */

const OUTAGE_MS = 10_000;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describeWithPostgres('reliability: Redis stopped for 10 s under load', () => {
  let db: TestDatabase;
  let redis: ThrowawayRedis;
  let server: ServerProcess;

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
    await createTenant(db.owner, 'cached');
    redis = await startThrowawayRedis();
    const port = await freePort();
    server = spawnServer(
      cleanEnv({
        ...jwtAuthEnv(),
        ...db.env,
        BOARDS_ENVIRONMENT: 'test',
        BOARDS_LOG_LEVEL: 'warn',
        BOARDS_MULTI_TENANT_MODE: 'true',
        BOARDS_REDIS_URL: redis.url,
        BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
        BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: '1000000',
      }),
      port,
    );
    await waitUntilReady(server);
  }, 120_000);

  afterAll(async () => {
    await killServer(server);
    await redis?.destroy();
    await db?.drop();
  });

  it('answers every request without a 5xx while Redis is away, and uses it again afterwards', async () => {
    const tokens = Array.from({ length: 4 }, (_, i) =>
      hs256Token({ sub: `reader-${i}`, tenant: 'cached' }),
    );
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let running = true;
    let sequence = 0;
    const client = async (token: string) => {
      while (running) {
        const n = sequence++;
        const request =
          n % 3 === 0
            ? fetch(`${server.baseUrl}/api/boards`, {
                method: 'POST',
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body: JSON.stringify({ title: `during ${n}` }),
              })
            : fetch(`${server.baseUrl}/api/boards`, {
                headers: { authorization: `Bearer ${token}` },
              });
        try {
          const response = await request;
          const text = await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500) failures.push(`${response.status} ${text.slice(0, 200)}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const clients = tokens.map(client);
    await sleep(2_000);
    await redis.stop();
    const stoppedAt = Date.now();
    // Readiness answers from checks run every BOARDS_READINESS_REFRESH_MS (1 s): the outage shows
    // after the next run.
    let readyDuring: Response;
    for (;;) {
      await sleep(250);
      readyDuring = await fetch(`${server.baseUrl}/health/ready`);
      if (readyDuring.status === 503 || Date.now() - stoppedAt > 3_000) break;
      await readyDuring.arrayBuffer();
    }
    const readyBody = (await readyDuring.json()) as { error?: Record<string, unknown> };
    await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    await redis.start();
    await sleep(3_000);
    running = false;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(50);
    // Readiness said Redis was down while it was.
    expect(readyDuring.status).toBe(503);
    expect(readyBody.error).toHaveProperty('redis');
    expect(server.alive()).toBe(true);
    // And ready again once it is back.
    let ready = 0;
    for (let attempt = 0; attempt < 50 && ready !== 200; attempt++) {
      ready = (await fetch(`${server.baseUrl}/health/ready`)).status;
      if (ready !== 200) await sleep(200);
    }
    expect(ready).toBe(200);
    process.stderr.write(
      `redis outage: ${JSON.stringify(Object.fromEntries(statuses))} (status: count), 0 5xx\n`,
    );
  }, 120_000);
});
