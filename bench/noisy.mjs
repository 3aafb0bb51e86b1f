// `npm run bench -- --scenario noisy`: one tenant at a steady load while another attacks.
//
// A victim tenant (20 users, each calling from an address of its own) reads its boards at a fixed
// rate, first alone (quiet), then while an attacker tenant (5,000 boards × 10 KB, 5 users) runs
// concurrent searches, large list pages, creates up to its quota, and 404/403 floods with random
// tenants and board ids. The victim's p99 under attack is compared with its quiet p99 in the same
// run, and the attacker's floods should meet 429s. /health/ready is probed throughout (p50).
// Writes the "Noisy neighbour" section of bench/RESULTS.md and bench/noisy.svg.
//
//   node bench/run.mjs --scenario noisy [--duration 20] [--rate 60] [--pool 10]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase, migrate, serverMemory } from './lib/database.mjs';
import { IMAGE_NODE_OPTIONS, startProject } from './lib/servers.mjs';
import { BENCH_SECRET, hs256 } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cliPath = join(root, 'dist/src/cli.js');
const SECRET = BENCH_SECRET;
const ATTACKER_BOARDS = 5_000;
const ATTACKER_QUOTA = ATTACKER_BOARDS + 100;
const VICTIM_USERS = 20;
const WORDS = ['aurora', 'basalt', 'cobalt', 'delta', 'ember', 'fjord', 'glacier', 'harbor', 'indigo', 'juniper'];

const log = (message) => process.stderr.write(`${message}\n`);

/**
 * The attacker's streams: connections and the rate each sends at, whatever the answers (1,000
 * requests a second in all, 16 times the victim's load, most of them refused soon). Without a rate
 * the streams only measure how fast this machine's two cores answer 429 to a flood.
 */
const ATTACK = {
  searches: { connections: 12, rate: 300 },
  pages: { connections: 4, rate: 100 },
  creates: { connections: 4, rate: 100 },
  floods: { connections: 12, rate: 500 },
};

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
    // Subjects differ between the tenants: one subject in two tenants is one person, whose
    // per-user rate limit the two would share.
    for (const [slug, users, boards, prefix] of [
      ['victim', VICTIM_USERS, 30, 'u'],
      ['attacker', 5, 0, 'a'],
    ]) {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [ids[slug]]);
      await client.query(
        `INSERT INTO users (auth_provider, auth_subject, display_name, tenant_role, membership_source)
         SELECT 'jwt', $2 || i, 'User ' || i, CASE WHEN i = 0 THEN 'admin' ELSE 'member' END, 'claim'
           FROM generate_series(0, $1 - 1) i`,
        [users, prefix],
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
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [ids.victim]);
    const { rows: victimBoards } = await client.query(
      `SELECT b.id, substr(u.auth_subject, 2) AS user_index FROM boards b JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.owner_id
        WHERE b.tenant_id = $1 ORDER BY b.id`,
      [ids.victim],
    );
    await client.query('COMMIT');
    return { ids, victimBoards };
  } finally {
    await client.end();
  }
}

export async function runNoisy(args) {
  const duration = Number(args.duration ?? 20);
  const rate = Number(args.rate ?? 60);
  const poolSize = Number(args.pool ?? 10);
  // --limits raised: the per-user and per-tenant request limits out of the way, so that what
  // protects the victim is the database's own fairness (pool and search shares, budgets, quotas).
  const raised = args.limits === 'raised';
  if (args.limits !== undefined && !raised) throw new Error(`unknown --limits ${args.limits} (shipped or raised)`);
  const db = await createDatabase('bench_noisy');
  try {
    log('migrating…');
    migrate(db, cliPath);
    log(`seeding (attacker: ${ATTACKER_BOARDS} boards × ~10 KB)…`);
    const { ids, victimBoards } = await seed(db);
    // A server left over from an interrupted run would answer in this one's place.
    const leftover = await fetch('http://127.0.0.1:8950/health/live').then(() => true, () => false);
    if (leftover) throw new Error('port 8950 is in use (a server left over from an earlier run?)');
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
        BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: raised ? '1000000' : '600',
        BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: raised ? '1000000' : '6000',
        BOARDS_QUOTA_BOARDS: String(ATTACKER_QUOTA),
      },
    });
    try {
      log(`project ready in ${await project.ready()} ms`);
      return await measureNoisy(db, project, { ids, victimBoards, duration, rate, poolSize, raised });
    } finally {
      await project.stop();
    }
  } finally {
    if (!args.keep) await db.drop();
  }
}

/** One load stream (bench/lib/noisy-streams.mjs) in a child process; resolves with its figures. */
function runStream(options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'lib', 'noisy-streams.mjs'), JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`stream ${options.name} exited with ${code}`))));
  });
}

async function measureNoisy(db, project, { ids, victimBoards, duration, rate, poolSize, raised }) {
  {
    const baseUrl = project.baseUrl;

    const data = {
      victimTokens: Array.from({ length: VICTIM_USERS }, (_, i) => token('victim', `u${i}`)),
      victimBoards: victimBoards.map((board) => ({ id: board.id, user: Number(board.user_index) })),
      attackerTokens: Array.from({ length: 5 }, (_, i) => token('attacker', `a${i}`)),
    };
    const stream = (name, options) => runStream({ name, data, baseUrl, ...options });

    log('warming up…');
    await stream('victim', { connections: 10, duration: 4, rate });
    await stream('searches', { connections: 1, duration: 2 });

    log(`quiet: the victim alone at ${rate} req/s for ${duration} s`);
    const [quiet, quietHealth] = await Promise.all([
      stream('victim', { connections: 10, duration, rate }),
      stream('health', { connections: 1, duration, rate: 20 }),
    ]);
    log(`  victim p50 ${quiet.p50} ms, p99 ${quiet.p99} ms, max ${quiet.max} ms, ${JSON.stringify(quiet.statuses)}`);

    log(`attack: the same victim load while the attacker searches, pages, creates and floods for ${duration} s`);
    const attack = Object.fromEntries(
      Object.entries(ATTACK).filter(
        ([name]) => !process.env.NOISY_STREAMS || process.env.NOISY_STREAMS.split(',').includes(name),
      ),
    );
    // The attack starts a second early, so that the victim is measured under a running attack
    // rather than while four load generators start up on the same cores.
    const attackStreams = Object.entries(attack).map(([name, { connections, rate: attackRate }]) =>
      stream(name, { connections, duration: duration + 1, rate: attackRate }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [underAttack, attackHealth, ...attackResults] = await Promise.all([
      stream('victim', { connections: 10, duration, rate }),
      stream('health', { connections: 1, duration, rate: 20 }),
      ...attackStreams,
    ]);
    const attacker = Object.fromEntries(Object.keys(attack).map((name, index) => [name, attackResults[index]]));
    log(`  victim p50 ${underAttack.p50} ms, p99 ${underAttack.p99} ms, max ${underAttack.max} ms, ${JSON.stringify(underAttack.statuses)}`);
    for (const [name, result] of Object.entries(attacker)) log(`  attacker ${name}: ${result.requests} requests, p50 ${result.p50} ms, ${JSON.stringify(result.statuses)}`);

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

    const victimErrors = underAttack.errors + Object.entries(underAttack.statuses).reduce((sum, [status, n]) => sum + (Number(status) >= 300 ? n : 0), 0);
    const floods429 = attacker.floods.statuses[429] ?? 0;
    const allowedP99 = Math.max(2 * quiet.p99, quiet.p99 + 50);
    const f = (value) => Number(value).toFixed(1);
    const checks = [
      { target: `victim p99 under attack ≤ max(2 × quiet p99, quiet p99 + 50 ms) = ${f(allowedP99)} ms`, measured: `${f(underAttack.p99)} ms (quiet ${f(quiet.p99)} ms)`, met: underAttack.p99 <= allowedP99 },
      { target: 'victim max under attack ≤ 1 s', measured: `${f(underAttack.max)} ms`, met: underAttack.max <= 1_000 },
      { target: 'victim errors under attack = 0', measured: String(victimErrors), met: victimErrors === 0 },
      { target: "the attacker's floods meet 429s", measured: `${floods429} of ${attacker.floods.requests}`, met: floods429 > attacker.floods.requests / 2 },
      { target: 'the attacker stops at its boards quota', measured: `${usage[0].boards} boards (quota ${ATTACKER_QUOTA}), ${attacker.creates.statuses[403] ?? 0} creates refused`, met: usage[0].boards <= ATTACKER_QUOTA },
      { target: '/health/ready p50 under attack ≤ 2 ms', measured: `${f(attackHealth.p50)} ms (quiet ${f(quietHealth.p50)} ms)`, met: attackHealth.p50 <= 2 },
    ];
    for (const check of checks) log(`${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.measured}`);
    const memory = await serverMemory();
    const result = { date: new Date().toISOString(), duration, rate, poolSize, raised, memory, quiet, underAttack, quietHealth, attackHealth, attacker, peakRssMb, checks };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', `noisy-${result.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
    writeNoisySection(result);
    log('wrote the "Noisy neighbour" section of bench/RESULTS.md and bench/noisy.svg');
    return checks.every((check) => check.met);
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

/** `text` with the part between `start` and `end` (markers included) replaced, or `part` appended. */
function replaceBetween(text, start, end, part) {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  return from >= 0 && to > from
    ? `${text.slice(0, from)}${part}${text.slice(to + end.length)}`
    : `${text.trimEnd()}\n\n${part}\n`;
}

/**
 * Writes this run's part of the "Noisy neighbour" section (one part per --limits mode, the other
 * kept as it was) between the markers, so the main run's report keeps the whole section.
 */
export function writeNoisySection(result) {
  const path = join(here, 'RESULTS.md');
  const ms = (value) => `${Number(value).toFixed(1)} ms`;
  const { quiet, underAttack, attacker, memory } = result;
  const mode = result.raised ? 'raised' : 'shipped';
  const chartFile = result.raised ? 'noisy-raised.svg' : 'noisy.svg';
  const lines = [
    `<!-- noisy-${mode}:start -->`,
    `### ${result.raised ? 'Request limits raised: the database layers alone' : 'Shipped defaults'}`,
    '',
    `Run ${result.date}: \`npm run bench -- --scenario noisy${result.raised ? ' --limits raised' : ''}\`, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (server, PostgreSQL and the load generators share them), PostgreSQL ${memory.server_version} (shared_buffers ${memory.shared_buffers}, huge pages ${memory.hugePagesInUse ? 'in use' : 'not in use'}), pool ${result.poolSize}, ${result.duration} s per phase, ${result.raised ? 'the shipped fairness defaults except the per-user and per-tenant request limits, raised out of the way (1,000,000 a minute) so that the attacker reaches the database' : 'the shipped fairness defaults'}. The victim tenant (20 users, each from its own address) reads its boards at ${result.rate} req/s, alone and then while the attacker tenant (5,000 boards × ~10 KB, 5 users) sends ${Object.entries(ATTACK).map(([name, { connections, rate }]) => `${name} at ${rate} req/s over ${connections} connections`).join(', ')}: searches for words in all of its boards, 100-item pages, creates past its boards quota, and guessed tenants and board ids from one address.`,
    '',
    '| victim | requests | p50 | p99 | max | statuses |',
    '|---|---|---|---|---|---|',
    `| quiet | ${quiet.requests} | ${ms(quiet.p50)} | ${ms(quiet.p99)} | ${ms(quiet.max)} | ${JSON.stringify(quiet.statuses)} |`,
    `| under attack | ${underAttack.requests} | ${ms(underAttack.p50)} | ${ms(underAttack.p99)} | ${ms(underAttack.max)} | ${JSON.stringify(underAttack.statuses)} |`,
    '',
    '| attacker | requests | p50 | statuses |',
    '|---|---|---|---|',
    ...Object.entries(attacker).map(([name, r]) => `| ${name} | ${r.requests} | ${ms(r.p50)} | ${JSON.stringify(r.statuses)} |`),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...result.checks.map((check) => `| ${check.target} | ${check.measured} | ${check.met ? 'yes' : '**no**'} |`),
    '',
    `![victim latency, quiet and under attack](${chartFile})`,
    `<!-- noisy-${mode}:end -->`,
  ];
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const from = existing.indexOf(START);
  const to = existing.indexOf(END);
  let section = from >= 0 && to > from ? existing.slice(from, to + END.length) : `${START}\n## Noisy neighbour\n${END}`;
  // The section of an earlier layout (one run, no parts) starts afresh.
  if (!section.includes('<!-- noisy-')) section = `${START}\n## Noisy neighbour\n${END}`;
  const body = section.slice(START.length, section.length - END.length);
  const updated = `${START}${replaceBetween(body.trimEnd(), `<!-- noisy-${mode}:start -->`, `<!-- noisy-${mode}:end -->`, lines.join('\n'))}\n${END}`;
  writeFileSync(path, replaceBetween(existing, START, END, updated));
  writeFileSync(join(here, chartFile), chart(result));
}
