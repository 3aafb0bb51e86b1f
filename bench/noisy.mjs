// `npm run bench -- --scenario noisy`: one tenant at a steady load while another attacks.
//
// A victim tenant (20 users, each calling from an address of its own) reads its boards at a fixed
// rate, first alone (quiet), then while an attacker tenant (5,000 boards × 10 KB, 5 users) runs
// concurrent searches, large list pages, creates up to its quota, and 404/403 floods with random
// tenants and board ids. The victim's p99 under attack is compared with its quiet p99 in the same
// run, and the attacker's floods should meet 429s. /health/ready is probed throughout (p50).
// Writes the "Noisy neighbour" section of bench/RESULTS.md and bench/noisy.svg.
//
//   node bench/run.mjs --scenario noisy [--duration 20] [--rate 150] [--pool 10]
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createDatabase, migrate, serverMemory } from './lib/database.mjs';
import { startProject } from './lib/servers.mjs';
import { hs256 } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cliPath = join(root, 'dist/src/cli.js');
const SECRET = 'bench-secret-0123456789abcdef-0123456789abcdef';
const IMAGE_NODE_OPTIONS = /^\s*NODE_OPTIONS=(\S+)/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1] ?? '';
const ATTACKER_BOARDS = 5_000;
const ATTACKER_QUOTA = ATTACKER_BOARDS + 100;
const VICTIM_USERS = 20;
const WORDS = ['aurora', 'basalt', 'cobalt', 'delta', 'ember', 'fjord', 'glacier', 'harbor', 'indigo', 'juniper'];

const log = (message) => process.stderr.write(`${message}\n`);

function token(slug, subject) {
  const now = Math.floor(Date.now() / 1000);
  return hs256({ sub: subject, tenant: slug, iat: now, exp: now + 86_400 }, SECRET);
}

/** Victim: 20 users × 30 small boards. Attacker: 5 users, 5,000 boards with ~10 KB descriptions. */
async function seed(db) {
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    await client.query(`INSERT INTO tenants (name, slug) VALUES ('Victim', 'victim'), ('Attacker', 'attacker')`);
    const { rows } = await client.query(`SELECT id, slug FROM tenants WHERE slug IN ('victim', 'attacker')`);
    const ids = Object.fromEntries(rows.map((row) => [row.slug, row.id]));
    for (const [slug, users, boards] of [
      ['victim', VICTIM_USERS, 30],
      ['attacker', 5, 0],
    ]) {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [ids[slug]]);
      await client.query(
        `INSERT INTO users (auth_provider, auth_subject, display_name, tenant_role, membership_source)
         SELECT 'jwt', 'u' || i, 'User ' || i, CASE WHEN i = 0 THEN 'admin' ELSE 'member' END, 'claim'
           FROM generate_series(0, $1 - 1) i`,
        [users],
      );
      if (boards > 0) {
        await client.query(
          `INSERT INTO boards (owner_id, title, description, is_public)
           SELECT u.id, 'Board ' || i || ' of ' || u.auth_subject, 'Moodboard ' || i, i % 3 = 0
             FROM users u, generate_series(1, $1) i`,
          [boards],
        );
      }
      await client.query('COMMIT');
    }
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [ids.attacker]);
    // ~10 KB of words per description; a third public, so every attacker's list page is large.
    await client.query(
      `INSERT INTO boards (owner_id, title, description, is_public)
       SELECT (SELECT id FROM users ORDER BY auth_subject LIMIT 1 OFFSET i % 5),
              'Spam ' || i,
              (SELECT string_agg(w[1 + (i * 7 + j * 13) % array_length(w, 1)] || (j % 89), ' ')
                 FROM generate_series(1, 1400) AS j, (SELECT $2::text[] AS w) words),
              i % 3 = 0
         FROM generate_series(1, $1::int) i`,
      [ATTACKER_BOARDS, WORDS],
    );
    await client.query('COMMIT');
    await client.query('VACUUM (ANALYZE)');
    const { rows: victimBoards } = await client.query(
      `SELECT b.id, u.auth_subject FROM boards b JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.owner_id
        WHERE b.tenant_id = $1 ORDER BY b.id`,
      [ids.victim],
    );
    return { ids, victimBoards };
  } finally {
    await client.end();
  }
}

/**
 * An autocannon run whose requests rotate over `requests` (method, path, token, address, body).
 * With `rate`, requests are sent at that overall rate (steady load) instead of as fast as possible.
 */
function run({ baseUrl, requests, connections, duration, rate }) {
  let i = 0;
  const latencies = [];
  const statuses = new Map();
  const instance = autocannon({
    url: baseUrl,
    connections,
    duration,
    ...(rate && { overallRate: rate }),
    pipelining: 1,
    requests: [
      {
        setupRequest: (request) => {
          const { method = 'GET', path, token: bearer, address, body, headers = {} } = requests(i++);
          request.method = method;
          request.path = path;
          request.headers = {
            ...(bearer && { authorization: `Bearer ${bearer}` }),
            'x-forwarded-proto': 'https',
            'x-forwarded-for': address,
            ...headers,
            ...(body && { 'content-type': 'application/json' }),
          };
          request.body = body ? JSON.stringify(body) : undefined;
          return request;
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  return new Promise((resolve, reject) => {
    instance.on('done', (result) => {
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      resolve({
        requests: latencies.length,
        p50: at(0.5),
        p99: at(0.99),
        max: latencies.at(-1) ?? NaN,
        errors: result.errors + result.timeouts,
        statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      });
    });
    instance.on('error', reject);
  });
}

export async function runNoisy(args) {
  const duration = Number(args.duration ?? 20);
  const rate = Number(args.rate ?? 150);
  const poolSize = Number(args.pool ?? 10);
  const db = await createDatabase('bench_noisy');
  try {
    log('migrating…');
    migrate(db, cliPath);
    log(`seeding (attacker: ${ATTACKER_BOARDS} boards × ~10 KB)…`);
    const { ids, victimBoards } = await seed(db);
    const project = startProject({
      cliPath,
      db,
      port: 8950,
      poolSize,
      secret: SECRET,
      nodeOptions: IMAGE_NODE_OPTIONS,
      extraEnv: {
        // The shipped fairness defaults, except what a benchmark from one machine needs: every
        // request comes through 127.0.0.1 (the "ingress"), each client with its own address.
        BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: '6000',
        BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: '300',
        BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '100000',
        BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: '1000000',
        BOARDS_QUOTA_BOARDS: String(ATTACKER_QUOTA),
      },
    });
    log(`project ready in ${await project.ready()} ms`);
    const baseUrl = project.baseUrl;

    const victimTokens = Array.from({ length: VICTIM_USERS }, (_, i) => token('victim', `u${i}`));
    const victimOwned = victimBoards.map((board) => ({ id: board.id, user: Number(board.auth_subject.slice(1)) }));
    const victim = (i) => {
      const user = i % VICTIM_USERS;
      const board = victimOwned[(i * 7) % victimOwned.length];
      return i % 2 === 0
        ? { path: '/api/boards', token: victimTokens[user], address: `10.1.0.${user + 1}` }
        : { path: `/api/boards/${board.id}`, token: victimTokens[board.user], address: `10.1.0.${board.user + 1}` };
    };
    const attackerTokens = Array.from({ length: 5 }, (_, i) => token('attacker', `u${i}`));
    const health = () => ({ path: '/health/ready', address: '10.3.0.1' });

    log('warming up…');
    await run({ baseUrl, requests: victim, connections: 10, duration: 4, rate });
    await run({ baseUrl, requests: (i) => ({ path: '/api/boards?q=glacier7', token: attackerTokens[i % 5], address: `10.2.1.${i % 5}` }), connections: 2, duration: 2 });

    log(`quiet: the victim alone at ${rate} req/s for ${duration} s`);
    const [quiet, quietHealth] = await Promise.all([
      run({ baseUrl, requests: victim, connections: 10, duration, rate }),
      run({ baseUrl, requests: health, connections: 1, duration, rate: 20 }),
    ]);
    log(`  victim p50 ${quiet.p50} ms, p99 ${quiet.p99} ms, max ${quiet.max} ms, ${JSON.stringify(quiet.statuses)}`);

    log(`attack: the same victim load while the attacker searches, pages, creates and floods for ${duration} s`);
    const words = (i) => `${WORDS[i % WORDS.length]}${i % 89}`;
    const attack = {
      searches: run({
        baseUrl,
        connections: 12,
        duration,
        requests: (i) => ({ path: `/api/boards?q=${words(i)}`, token: attackerTokens[i % 5], address: `10.2.1.${i % 5}` }),
      }),
      pages: run({
        baseUrl,
        connections: 4,
        duration,
        requests: (i) => ({ path: '/api/boards?limit=100', token: attackerTokens[i % 5], address: `10.2.2.${i % 5}` }),
      }),
      creates: run({
        baseUrl,
        connections: 4,
        duration,
        requests: (i) => ({
          method: 'POST',
          path: '/api/boards',
          token: attackerTokens[i % 5],
          address: `10.2.3.${i % 5}`,
          body: { title: `Spam more ${i}`, description: 'x'.repeat(9_000) },
        }),
      }),
      floods: run({
        baseUrl,
        connections: 12,
        duration,
        requests: (i) =>
          i % 2 === 0
            ? { path: '/api/boards', token: attackerTokens[i % 5], address: `10.2.4.${i % 4}`, headers: { 'x-tenant': `guess-${randomUUID().slice(0, 8)}` } }
            : { path: `/api/boards/${randomUUID()}`, token: attackerTokens[i % 5], address: `10.2.4.${i % 4}` },
      }),
    };
    const [underAttack, attackHealth, ...attackResults] = await Promise.all([
      run({ baseUrl, requests: victim, connections: 10, duration, rate }),
      run({ baseUrl, requests: health, connections: 1, duration, rate: 20 }),
      ...Object.values(attack),
    ]);
    const attacker = Object.fromEntries(Object.keys(attack).map((name, index) => [name, attackResults[index]]));
    log(`  victim p50 ${underAttack.p50} ms, p99 ${underAttack.p99} ms, max ${underAttack.max} ms, ${JSON.stringify(underAttack.statuses)}`);
    for (const [name, result] of Object.entries(attacker)) log(`  attacker ${name}: ${result.requests} requests, ${JSON.stringify(result.statuses)}`);

    const { rows: usage } = await (async () => {
      const client = new pg.Client({ connectionString: db.ownerUrl });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [ids.attacker]);
        const result = await client.query('SELECT boards FROM tenant_usage');
        await client.query('COMMIT');
        return result;
      } finally {
        await client.end();
      }
    })();
    const peakRssMb = project.peakRssMb();
    await project.stop();

    const victimErrors = underAttack.errors + Object.entries(underAttack.statuses).reduce((sum, [status, n]) => sum + (Number(status) >= 300 ? n : 0), 0);
    const floods429 = attacker.floods.statuses[429] ?? 0;
    const allowedP99 = Math.max(2 * quiet.p99, quiet.p99 + 50);
    const checks = [
      { target: `victim p99 under attack ≤ max(2 × quiet p99, quiet p99 + 50 ms) = ${allowedP99} ms`, measured: `${underAttack.p99} ms (quiet ${quiet.p99} ms)`, met: underAttack.p99 <= allowedP99 },
      { target: 'victim max under attack ≤ 1 s', measured: `${underAttack.max} ms`, met: underAttack.max <= 1_000 },
      { target: 'victim errors under attack = 0', measured: String(victimErrors), met: victimErrors === 0 },
      { target: "the attacker's floods meet 429s", measured: `${floods429} of ${attacker.floods.requests}`, met: floods429 > attacker.floods.requests / 2 },
      { target: 'the attacker stops at its boards quota', measured: `${usage[0].boards} boards (quota ${ATTACKER_QUOTA}), ${attacker.creates.statuses[403] ?? 0} creates refused`, met: usage[0].boards <= ATTACKER_QUOTA },
      { target: '/health/ready p50 under attack ≤ 2 ms', measured: `${attackHealth.p50} ms (quiet ${quietHealth.p50} ms)`, met: attackHealth.p50 <= 2 },
    ];
    for (const check of checks) log(`${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.measured}`);
    const memory = await serverMemory();
    const result = { date: new Date().toISOString(), duration, rate, poolSize, memory, quiet, underAttack, quietHealth, attackHealth, attacker, peakRssMb, checks };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', `noisy-${result.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
    writeNoisySection(result);
    log('wrote the "Noisy neighbour" section of bench/RESULTS.md and bench/noisy.svg');
    return checks.every((check) => check.met);
  } finally {
    if (!args.keep) await db.drop();
  }
}

/** Bars of the victim's p50, p99 and max, quiet and under attack. */
function chart({ quiet, underAttack }) {
  const bars = [
    ['p50', quiet.p50, underAttack.p50],
    ['p99', quiet.p99, underAttack.p99],
    ['max', quiet.max, underAttack.max],
  ];
  const top = Math.max(...bars.flatMap(([, a, b]) => [a, b]), 1);
  const width = 560;
  const height = 260;
  const scale = (value) => (value / top) * 180;
  const parts = bars.map(([label, a, b], index) => {
    const x = 60 + index * 170;
    return [
      `<rect x="${x}" y="${220 - scale(a)}" width="50" height="${scale(a)}" fill="#6b9bd1"/>`,
      `<rect x="${x + 60}" y="${220 - scale(b)}" width="50" height="${scale(b)}" fill="#d9534f"/>`,
      `<text x="${x + 25}" y="${214 - scale(a)}" font-size="11" text-anchor="middle">${a} ms</text>`,
      `<text x="${x + 85}" y="${214 - scale(b)}" font-size="11" text-anchor="middle">${b} ms</text>`,
      `<text x="${x + 55}" y="240" font-size="12" text-anchor="middle">${label}</text>`,
    ].join('');
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<text x="10" y="20" font-size="13">Victim latency: quiet (blue) and while another tenant attacks (red)</text>` +
    `<line x1="50" y1="220" x2="${width - 10}" y2="220" stroke="#333"/>${parts.join('')}</svg>\n`
  );
}

const START = '<!-- noisy:start -->';
const END = '<!-- noisy:end -->';

/** Replaces (or appends) the section between the markers, so the main run's report keeps it. */
function writeNoisySection(result) {
  const path = join(here, 'RESULTS.md');
  const { quiet, underAttack, attacker, memory } = result;
  const lines = [
    START,
    '## Noisy neighbour',
    '',
    `Run ${result.date}: \`npm run bench -- --scenario noisy\`, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, PostgreSQL ${memory.server_version} (shared_buffers ${memory.shared_buffers}, huge pages ${memory.hugePagesInUse ? 'in use' : 'not in use'}), pool ${result.poolSize}, ${result.duration} s per phase. The victim tenant (20 users, each from its own address) reads its boards at ${result.rate} req/s, alone and then while the attacker tenant (5,000 boards × ~10 KB) runs 12 concurrent searches, 4 streams of 100-item pages, 4 streams of creates past its boards quota, and 12 streams of 404/403 guesses.`,
    '',
    '| victim | requests | p50 | p99 | max | statuses |',
    '|---|---|---|---|---|---|',
    `| quiet | ${quiet.requests} | ${quiet.p50} ms | ${quiet.p99} ms | ${quiet.max} ms | ${JSON.stringify(quiet.statuses)} |`,
    `| under attack | ${underAttack.requests} | ${underAttack.p50} ms | ${underAttack.p99} ms | ${underAttack.max} ms | ${JSON.stringify(underAttack.statuses)} |`,
    '',
    '| attacker | requests | p50 | statuses |',
    '|---|---|---|---|',
    ...Object.entries(attacker).map(([name, r]) => `| ${name} | ${r.requests} | ${r.p50} ms | ${JSON.stringify(r.statuses)} |`),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...result.checks.map((check) => `| ${check.target} | ${check.measured} | ${check.met ? 'yes' : '**no**'} |`),
    '',
    '![victim latency, quiet and under attack](noisy.svg)',
    END,
  ];
  const section = lines.join('\n');
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${existing.slice(0, start)}${section}${existing.slice(end + END.length)}`
      : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
  writeFileSync(join(here, 'noisy.svg'), chart(result));
}
