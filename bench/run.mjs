// `npm run bench`: seeds its own database, starts the project (production mode) and the bare
// baseline on the same data, measures them alternately, and rewrites bench/RESULTS.md.
//
//   node bench/run.mjs [--scale small|large|both] [--duration 8] [--rounds 5] [--connections 20]
//                      [--pool 10] [--keep]
//   node bench/run.mjs --scenario noisy [--duration 20] [--rate 60] [--pool 10] [--limits raised]   (bench/noisy.mjs)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ADMIN_URL, createDatabase, migrate, seed, serverMemory } from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { writeReport } from './lib/report.mjs';
import { startBaseline, startProject } from './lib/servers.mjs';
import { mintTokens } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cliPath = join(root, 'dist/src/cli.js');
const SECRET = 'bench-secret-0123456789abcdef-0123456789abcdef';
/** The Node.js options of the production image (`ENV NODE_OPTIONS=` in the Dockerfile). */
const IMAGE_NODE_OPTIONS = /^\s*NODE_OPTIONS=(\S+)/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1] ?? '';

const SHAPES = {
  small: { tenants: 100, users: 20, boards: 200, members: 5 },
  large: { tenants: 10_000, users: 10, boards: 100, members: 5 },
};

const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: 'small' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    pool: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
    scenario: { type: 'string', default: 'compare' },
    rate: { type: 'string' },
    limits: { type: 'string' },
  },
});
if (args.scenario === 'noisy') {
  const { runNoisy } = await import('./noisy.mjs');
  // Its own defaults (20 s per phase) unless given.
  const given = process.argv.slice(2);
  const met = await runNoisy({
    duration: given.includes('--duration') ? args.duration : undefined,
    rate: args.rate,
    pool: args.pool,
    keep: args.keep,
    limits: args.limits,
  });
  process.exit(met ? 0 : 1);
} else if (args.scenario !== 'compare') {
  throw new Error(`unknown --scenario ${args.scenario} (compare or noisy)`);
}
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const poolSize = Number(args.pool);
const scaleNames = args.scale === 'both' ? ['small', 'large'] : [args.scale];
for (const name of scaleNames) if (!SHAPES[name]) throw new Error(`unknown --scale ${name} (small, large or both)`);

const log = (message) => process.stderr.write(`${message}\n`);

/** Token and board id per (tenant, user): one board the user owns, read as superuser. */
async function requestMix(db) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db.name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT DISTINCT ON (b.tenant_id, b.owner_id) t.slug, u.auth_subject AS subject, b.id AS board_id
         FROM boards b
         JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.owner_id
         JOIN tenants t ON t.id = b.tenant_id
        ORDER BY b.tenant_id, b.owner_id, b.id`,
    );
    const tokens = mintTokens(rows, SECRET);
    return rows.map((row, index) => ({ slug: row.slug, token: tokens[index], boardId: row.board_id }));
  } finally {
    await client.end();
  }
}

function average(results) {
  const mean = (key) => results.reduce((sum, r) => sum + r[key], 0) / results.length;
  return {
    rps: mean('rps'),
    p50: mean('p50'),
    p99: mean('p99'),
    errors: results.reduce((s, r) => s + r.errors, 0),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
  };
}

async function runScale(name, portBase) {
  const shape = SHAPES[name];
  log(`\n== ${name}: ${shape.tenants} tenants × ${shape.boards} boards × ${shape.members} members`);
  const db = await createDatabase(`bench_${name}`);
  try {
    log('migrating…');
    migrate(db, cliPath);
    log('seeding…');
    const seedStarted = Date.now();
    await seed(db, shape, log);
    const seedSeconds = (Date.now() - seedStarted) / 1000;

    const everyone = await requestMix(db);
    // Spread: one user of every tenant (the 10,000-tenant mix at the large scale). Single: the users of one tenant.
    const spreadUsers = [...new Map(everyone.map((e) => [e.slug, e])).values()];
    const spread = shape.tenants >= 1_000 ? spreadUsers : everyone.filter((_, i) => i % 2 === 0);
    const single = everyone.filter((e) => e.slug === 'bench-1');
    const listMix = (users) => users.map((u) => ({ token: u.token, path: '/api/boards' }));
    const getMix = (users) => users.map((u) => ({ token: u.token, path: `/api/boards/${u.boardId}` }));
    log(`token mixes: spread ${spread.length} users over ${new Set(spread.map((s) => s.slug)).size} tenants, single ${single.length} users`);

    const project = startProject({ cliPath, db, port: portBase, poolSize, secret: SECRET, nodeOptions: IMAGE_NODE_OPTIONS });
    const startToReadyMs = await project.ready();
    log(`project ready in ${startToReadyMs} ms`);
    const baseline = startBaseline({ db, port: portBase + 1, poolSize, secret: SECRET, serverPath: join(here, 'baseline/server.mjs') });
    await baseline.ready();
    // The project with every route through Nest's router (no @DirectRoute dispatcher), measured
    // on the two reads the dispatcher serves: what the shortcut is worth (docs/adr/0001).
    const viaNest = startProject({
      cliPath,
      db,
      port: portBase + 2,
      poolSize,
      secret: SECRET,
      nodeOptions: IMAGE_NODE_OPTIONS,
      extraEnv: { BOARDS_API_DIRECT_ROUTES: 'false' },
    });
    await viaNest.ready();

    const load = (server, mix, extra = {}) => measure({ baseUrl: server.baseUrl, mix, duration, connections, ...extra });
    // Steady state of active tenants: every user of the spread mix has called once (first contact
    // verifies the token and loads tenant and user), and the JIT has seen both read routes.
    log(`warming up (every one of the ${spread.length} spread-mix users once, then 5 s of reads)…`);
    for (const server of [project, baseline, viaNest]) {
      await load(server, listMix(spread), { amount: spread.length });
      await load(server, listMix(spread), { duration: 3 });
      await load(server, getMix(spread), { duration: 2 });
    }

    const compared = [
      ['GET /api/boards (spread mix)', listMix(spread), true],
      ['GET /api/boards (single-tenant mix)', listMix(single), false],
      ['GET /api/boards/{id} (spread mix)', getMix(spread), true],
      ['GET /health/ready', [{ token: spread[0].token, path: '/health/ready' }], false],
    ];
    // Round-robin over the scenarios, project then baseline in each, so that the machine's drift
    // over a run weighs on every ratio alike: project against baseline, and the spread mix against
    // the single-tenant mix.
    const results = compared.map(() => ({ p: [], b: [], n: [] }));
    for (let round = 0; round < rounds; round++) {
      for (const [index, [scenario, mix, direct]] of compared.entries()) {
        const { p, b, n } = results[index];
        p.push(await load(project, mix));
        if (direct) n.push(await load(viaNest, mix));
        b.push(await load(baseline, mix));
        const nest = direct ? `, via Nest ${n.at(-1).rps.toFixed(0)} req/s` : '';
        log(`  ${scenario} round ${round + 1}: project ${p.at(-1).rps.toFixed(0)} req/s${nest}, baseline ${b.at(-1).rps.toFixed(0)} req/s`);
      }
    }
    const rows = compared.map(([scenario, , direct], index) => ({
      name: scenario,
      project: average(results[index].p),
      baseline: average(results[index].b),
      ...(direct && { viaNest: average(results[index].n) }),
    }));
    const posts = [];
    for (let round = 0; round < rounds; round++) {
      posts.push(
        await measure({
          baseUrl: project.baseUrl,
          method: 'POST',
          mix: listMix(spread),
          body: (n) => ({ title: `Bench board ${n}`, description: 'created under load' }),
          duration,
          connections,
        }),
      );
      log(`  POST /api/boards round ${round + 1}: project ${posts.at(-1).rps.toFixed(0)} req/s`);
    }
    rows.push({ name: 'POST /api/boards (spread mix)', project: average(posts) });

    const peakRssMb = project.peakRssMb();
    const baselinePeakRssMb = baseline.peakRssMb();
    await project.stop();
    await baseline.stop();
    await viaNest.stop();
    return { name, shape, seedSeconds, startToReadyMs, peakRssMb, baselinePeakRssMb, rows };
  } finally {
    if (!args.keep) await db.drop();
  }
}

const memory = await serverMemory();
if (memory.hugePagesInUse === false) {
  log(
    `note: PostgreSQL's shared memory (shared_buffers ${memory.shared_buffers}) is on 4 kB pages: huge_pages=${memory.huge_pages} ` +
      `found none reserved. Reserve them (sysctl -w vm.nr_hugepages=${memory.huge_pages_needed} or more) and restart PostgreSQL ` +
      'for the figures in docs/performance.md; without them, the spread mix also measures page-table work (see docs/performance.md).',
  );
}

const scales = [];
for (const [index, name] of scaleNames.entries()) scales.push(await runScale(name, 8910 + index * 10));

const find = (scale, name) => scale.rows.find((row) => row.name === name);
const checks = [];
for (const scale of scales) {
  const list = find(scale, 'GET /api/boards (spread mix)');
  const get = find(scale, 'GET /api/boards/{id} (spread mix)');
  const single = find(scale, 'GET /api/boards (single-tenant mix)');
  const tag = `[${scale.name}]`;
  const ratio = (a, b) => a / b;
  checks.push(
    { target: `${tag} GET /api/boards throughput ≥ 0.8× baseline`, measured: ratio(list.project.rps, list.baseline.rps).toFixed(2), met: ratio(list.project.rps, list.baseline.rps) >= 0.8 },
    { target: `${tag} GET /api/boards p99 ≤ 1.5× baseline`, measured: ratio(list.project.p99, list.baseline.p99).toFixed(2), met: ratio(list.project.p99, list.baseline.p99) <= 1.5 },
    { target: `${tag} GET /api/boards/{id} throughput ≥ 0.8× baseline`, measured: ratio(get.project.rps, get.baseline.rps).toFixed(2), met: ratio(get.project.rps, get.baseline.rps) >= 0.8 },
    { target: `${tag} GET /api/boards/{id} p99 ≤ 1.5× baseline`, measured: ratio(get.project.p99, get.baseline.p99).toFixed(2), met: ratio(get.project.p99, get.baseline.p99) <= 1.5 },
    {
      target: `${tag} spread-mix throughput ≥ 0.9× single-tenant mix (list)`,
      measured: ratio(list.project.rps, single.project.rps).toFixed(2),
      met: ratio(list.project.rps, single.project.rps) >= 0.9,
    },
    { target: `${tag} peak RSS ≤ 200 MB`, measured: `${scale.peakRssMb.toFixed(1)} MB`, met: scale.peakRssMb <= 200 },
    { target: `${tag} start to ready ≤ 2 s`, measured: `${scale.startToReadyMs} ms`, met: scale.startToReadyMs <= 2_000 },
  );
}
if (scales.length === 2) {
  const small = find(scales[0], 'GET /api/boards (spread mix)').project.p50;
  const large = find(scales[1], 'GET /api/boards (spread mix)').project.p50;
  checks.push({ target: 'list p50 at 10,000 tenants ≤ 1.2× at 100 tenants', measured: (large / small).toFixed(2), met: large / small <= 1.2 });
}

const run = { date: new Date().toISOString(), duration, rounds, connections, poolSize, nodeOptions: IMAGE_NODE_OPTIONS, postgresVersion: memory.server_version, memory };
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `${run.date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ run, scales, checks }, null, 2));
writeReport({ path: join(here, 'RESULTS.md'), svgPath: join(here, 'results.svg'), run, scales, checks });
for (const check of checks) log(`${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.measured}`);
log('wrote bench/RESULTS.md and bench/results.svg');
