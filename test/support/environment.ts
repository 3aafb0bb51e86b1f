/**
 * What the test run can reach, decided once by the global setup and passed to every worker
 * through the environment. Tests that need a real PostgreSQL server (pool size, concurrency,
 * several connections) call `describeWithPostgres`, which skips with a printed reason otherwise.
 */
export const ADMIN_URL =
  process.env.BOARDS_TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BOARDS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function hasPostgres(): boolean {
  return process.env.BOARDS_TEST_HAS_POSTGRES === '1';
}

export function hasRedis(): boolean {
  return process.env.BOARDS_TEST_HAS_REDIS === '1';
}

type DescribeBody = () => void;

/** `describe` when a real PostgreSQL server is reachable; otherwise skipped with the reason printed. */
export function describeWithPostgres(name: string, body: DescribeBody): void {
  if (hasPostgres()) {
    describe(name, body);
    return;
  }
  process.stderr.write(
    `SKIPPED "${name}": needs a real PostgreSQL server (none at ${ADMIN_URL}); the embedded database is a single session\n`,
  );
  const skip = describe.skip;
  skip(name, body);
}

/** `describe` when Redis is reachable; otherwise skipped with the reason printed. */
export function describeWithRedis(name: string, body: DescribeBody): void {
  if (hasRedis()) {
    describe(name, body);
    return;
  }
  process.stderr.write(`SKIPPED "${name}": needs Redis at ${REDIS_URL}\n`);
  const skip = describe.skip;
  skip(name, body);
}
