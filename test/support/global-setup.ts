import { createConnection } from 'node:net';
import { Client } from 'pg';
import { ADMIN_URL, REDIS_URL } from './environment';

async function postgresReachable(): Promise<boolean> {
  const client = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redisReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = createConnection({
      host: url.hostname,
      port: Number(url.port || 6379),
      timeout: 2_000,
    });
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export default async function globalSetup(): Promise<void> {
  const [postgres, redis] = await Promise.all([postgresReachable(), redisReachable()]);
  process.env.BOARDS_TEST_HAS_POSTGRES = postgres ? '1' : '0';
  process.env.BOARDS_TEST_HAS_REDIS = redis ? '1' : '0';
  process.stderr.write(
    `\ntest backends: ${postgres ? `PostgreSQL at ${ADMIN_URL}` : 'embedded PGlite (no PostgreSQL server reachable)'}; ` +
      `${redis ? `Redis at ${REDIS_URL}` : 'no Redis (memory fallbacks)'}\n`,
  );
}
