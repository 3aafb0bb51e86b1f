// What verifying a token costs when the verified-token cache cannot answer (a token never seen):
// GET /api/auth/me with a fresh HS256 token on every request (same user, new `jti`), against two
// builds measured alternately in the same run — for instance this checkout and an earlier commit
// built in a worktree. Each server runs on the embedded database (the route reads no table after
// the user is cached).
//
//   node bench/auth-miss.mjs [--other /path/to/other/checkout] [--duration 8] [--rounds 3]
//
// Without --other it measures this checkout alone. Prints a Markdown table.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startProcess } from './lib/servers.mjs';
import { BENCH_SECRET, hs256 } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SECRET = BENCH_SECRET;
const { values: args } = parseArgs({
  options: {
    other: { type: 'string' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
  },
});

/** A token never seen before: same user and tenant, a new `jti`. */
function freshToken() {
  const now = Math.floor(Date.now() / 1000);
  return hs256({ sub: 'bench-user', tenant: 'default', jti: randomUUID(), iat: now, exp: now + 600 }, SECRET);
}

function startServer(checkout, port) {
  const dataDir = mkdtempSync(join(tmpdir(), 'boards-auth-bench-'));
  const server = startProcess(
    join(checkout, 'dist/src/cli.js'),
    ['serve'],
    {
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: SECRET,
      BOARDS_EMBEDDED_DATA_DIR: dataDir,
      BOARDS_API_HOST: '127.0.0.1',
      BOARDS_API_PORT: String(port),
      BOARDS_LOG_LEVEL: 'silent',
      // The limits stay on the request path, out of reach (as in bench/lib/servers.mjs).
      BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: '10000000',
    },
    port,
    checkout,
  );
  return { ...server, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

async function load(baseUrl, duration) {
  const result = await autocannon({
    url: `${baseUrl}/api/auth/me`,
    connections: Number(args.connections),
    duration,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${freshToken()}` } }) }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

const checkouts = [join(here, '..'), ...(args.other ? [args.other] : [])];
const servers = checkouts.map((checkout, index) => startServer(checkout, 8950 + index));
try {
  for (const server of servers) await server.ready(60_000);
  for (const server of servers) await load(server.baseUrl, 3); // warm-up: JIT, the user cached
  const results = servers.map(() => []);
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const [index, server] of servers.entries()) {
      results[index].push(await load(server.baseUrl, Number(args.duration)));
      process.stderr.write(`round ${round + 1} ${checkouts[index]}: ${results[index].at(-1).rps.toFixed(0)} req/s\n`);
    }
  }
  const mean = (list, key) => list.reduce((sum, r) => sum + r[key], 0) / list.length;
  console.log('| build | req/s | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---|---|---|---|');
  for (const [index, list] of results.entries()) {
    console.log(
      `| ${checkouts[index]} | ${mean(list, 'rps').toFixed(0)} | ${mean(list, 'p50').toFixed(1)} | ${mean(list, 'p99').toFixed(1)} | ${list.reduce((s, r) => s + r.non2xx, 0)} |`,
    );
  }
} finally {
  for (const server of servers) {
    await server.stop();
    server.cleanup();
  }
}
