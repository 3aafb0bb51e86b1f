// `npm run bench`: seeds its own database, starts the project (production mode), the bare limit
// (bench/limit/server.mjs: one round trip per read and per write), the old 4-round-trip baseline
// (bench/baseline/server.mjs) and the project with every route through Nest on the same data,
// checks that they give the same answers, measures them alternately, and rewrites
// bench/RESULTS.md and bench/results.svg (or writes them to --out DIR).
//
//   node bench/run.mjs [--scale small|large|both] [--duration 8] [--rounds 5] [--connections 20]
//                      [--pool 10] [--keep] [--out DIR]
//   node bench/run.mjs --isolation database [--cache 40] [--budget 40] [--duration 8] [--rounds 3]   (bench/isolation.mjs)
//   node bench/run.mjs --scenario noisy [--duration 20] [--rate 60] [--pool 10] [--limits raised]   (bench/noisy.mjs)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkAgreement } from './lib/agreement.mjs';
import { asSuperuser, createDatabase, migrate, requestMix, seed, serverMemory } from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { probe } from './lib/probe.mjs';
import { writeReport } from './lib/report.mjs';
import { IMAGE_NODE_OPTIONS, startBaseline, startLimit, startProject } from './lib/servers.mjs';
import { BENCH_SECRET } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cliPath = join(root, 'dist/src/cli.js');
const SECRET = BENCH_SECRET;

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
    out: { type: 'string' },
    isolation: { type: 'string' },
    cache: { type: 'string' },
    budget: { type: 'string' },
  },
});
if (args.isolation !== undefined) {
  if (args.isolation !== 'database') throw new Error(`unknown --isolation ${args.isolation} (database)`);
  const { runIsolation } = await import('./isolation.mjs');
  const given = process.argv.slice(2);
  const met = await runIsolation({
    duration: given.includes('--duration') ? args.duration : undefined,
    rounds: given.includes('--rounds') ? args.rounds : undefined,
    connections: args.connections,
    pool: args.pool,
    cache: args.cache,
    budget: args.budget,
    keep: args.keep,
  });
  process.exit(met ? 0 : 1);
}
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
/** Probes a second while the list load runs (GET /health/ready under load). */
const PROBE_RATE = 20;


/**
 * Takes back every board created after `since` (the POSTs of the agreement check, the warm-up and
 * a round), then vacuums what they touched, so that every round's reads run on the seeded data
 * and autovacuum does not wake up in the middle of a measurement. The usage triggers count the
 * deletions back out of tenant_usage.
 */
async function removeWrites(db, since) {
  const started = Date.now();
  const removed = await asSuperuser(db, async (client) => {
    const { rowCount } = await client.query('DELETE FROM boards WHERE created_at > $1', [since]);
    await client.query('VACUUM (ANALYZE) boards, tenant_usage');
    return rowCount;
  });
  return { removed, ms: Date.now() - started };
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
  // Every server started, stopped however the scale ends (a failed agreement check included).
  const started = [];
  const track = (server) => (started.push(server), server);
  try {
    log('migrating…');
    migrate(db, cliPath);
    log('seeding…');
    const seedStarted = Date.now();
    await seed(db, shape, log);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    // Boards created after this are the run's POSTs (removeWrites).
    const seededAt = await asSuperuser(db, async (client) => (await client.query('SELECT now()::text AS now')).rows[0].now);

    const everyone = await requestMix(db, SECRET);
    // Spread: one user of every tenant (the 10,000-tenant mix at the large scale). Single: the users of one tenant.
    const spreadUsers = [...new Map(everyone.map((e) => [e.slug, e])).values()];
    const spread = shape.tenants >= 1_000 ? spreadUsers : everyone.filter((_, i) => i % 2 === 0);
    const single = everyone.filter((e) => e.slug === 'bench-1');
    const listMix = (users) => users.map((u) => ({ token: u.token, path: '/api/boards' }));
    const getMix = (users) => users.map((u) => ({ token: u.token, path: `/api/boards/${u.boardId}` }));
    log(`token mixes: spread ${spread.length} users over ${new Set(spread.map((s) => s.slug)).size} tenants, single ${single.length} users`);

    // The probes also on a port of their own (BOARDS_HEALTH_PORT: a thread of their own), as the
    // Kubernetes manifests use them.
    const probePort = portBase + 10;
    // A tenant's budget of list bytes a second (2 MB/s by default) is a fairness cap like the
    // request limits startProject raises: the single-tenant mix passes it once the list runs at
    // ~1,700 req/s, and its 429s would count as throughput. Out of the way here.
    const unbudgeted = { BOARDS_LIST_BYTES_PER_SECOND: '10737418240' };
    const project = track(
      startProject({
        cliPath,
        db,
        port: portBase,
        poolSize,
        secret: SECRET,
        nodeOptions: IMAGE_NODE_OPTIONS,
        extraEnv: { ...unbudgeted, BOARDS_HEALTH_PORT: String(probePort) },
      }),
    );
    const startToReadyMs = await project.ready();
    log(`project ready in ${startToReadyMs} ms`);
    const baseline = track(startBaseline({ db, port: portBase + 1, poolSize, secret: SECRET, serverPath: join(here, 'baseline/server.mjs') }));
    await baseline.ready();
    // The project with every route through Nest's router (no @DirectRoute dispatcher), measured
    // on the two reads the dispatcher serves: what the shortcut is worth (docs/adr/0001).
    const viaNest = track(
      startProject({
        cliPath,
        db,
        port: portBase + 2,
        poolSize,
        secret: SECRET,
        nodeOptions: IMAGE_NODE_OPTIONS,
        extraEnv: { ...unbudgeted, BOARDS_API_DIRECT_ROUTES: 'false' },
      }),
    );
    await viaNest.ready();
    // The bare limit: the same work in one round trip per request; it writes the audit event on
    // POST exactly when the project does.
    const limit = track(
      startLimit({
        db,
        port: portBase + 3,
        poolSize,
        secret: SECRET,
        serverPath: join(here, 'limit/server.mjs'),
        audit: project.env.BOARDS_ENABLE_AUDIT_LOGGING === 'true',
      }),
    );
    await limit.ready();
    const servers = { project, limit, viaNest, baseline };

    // Same answers first (before any POST of the run, so that the pages compared are the seed's).
    const agreement = await checkAgreement({
      readers: [project, baseline, limit],
      writers: [project, limit],
      users: [spread[0], spread[Math.floor(spread.length / 2)], single[single.length - 1]],
      log,
    });

    const load = (server, mix, extra = {}) => measure({ baseUrl: server.baseUrl, mix, duration, connections, ...extra });
    const post = { method: 'POST', body: (n) => ({ title: `Bench board ${n}`, description: 'created under load' }) };
    // Steady state of active tenants: every user of the spread mix has called once (first contact
    // verifies the token and loads tenant and user), and the JIT has seen both read routes (and,
    // on the servers that write, the POST: 200 of them).
    log(`warming up (every one of the ${spread.length} spread-mix users once, then 5 s of reads)…`);
    for (const server of [project, limit, viaNest, baseline]) {
      await load(server, listMix(spread), { amount: spread.length });
      await load(server, listMix(spread), { duration: 3 });
      await load(server, getMix(spread), { duration: 2 });
      if (server === project || server === limit) await load(server, listMix(spread), { amount: 200, ...post });
    }
    const cleaned = await removeWrites(db, seededAt);
    log(`removed the ${cleaned.removed} boards created so far (${cleaned.ms} ms with the vacuum)`);

    // [scenario, mix, servers measured, load options]. POST only on the servers that write (the
    // old baseline has no POST); via Nest only on the routes the dispatcher serves.
    const compared = [
      ['GET /api/boards (spread mix)', listMix(spread), ['project', 'limit', 'viaNest', 'baseline'], {}],
      ['GET /api/boards (single-tenant mix)', listMix(single), ['project', 'limit', 'baseline'], {}],
      ['GET /api/boards/{id} (spread mix)', getMix(spread), ['project', 'limit', 'viaNest', 'baseline'], {}],
      ['GET /health/ready', [{ token: spread[0].token, path: '/health/ready' }], ['project', 'limit', 'baseline'], {}],
      ['POST /api/boards (spread mix)', listMix(spread), ['project', 'limit'], post],
    ];
    // Round-robin over the scenarios, every server in each, so that the machine's drift over a
    // run weighs on every ratio alike: project against the limit and the baseline, and the spread
    // mix against the single-tenant mix. The boards a POST scenario creates are removed before
    // the next read (removeWrites). Last in each round: the readiness probe under the list load
    // (a steady probe while the spread list load runs on the same server).
    const results = compared.map(() => ({ project: [], limit: [], viaNest: [], baseline: [] }));
    // project: the probe port (what Kubernetes probes); project on the API port: the same probe
    // queued among the API requests, for comparison.
    const underLoad = { project: [], 'project on the API port': [], limit: [] };
    const probeUrls = {
      project: `http://127.0.0.1:${probePort}/health/ready`,
      'project on the API port': `${servers.project.baseUrl}/health/ready`,
      limit: `${servers.limit.baseUrl}/health/ready`,
    };
    const probedServer = { project: servers.project, 'project on the API port': servers.project, limit: servers.limit };
    for (let round = 0; round < rounds; round++) {
      for (const [index, [scenario, mix, measured, extra]] of compared.entries()) {
        const figures = results[index];
        for (const name of measured) figures[name].push(await load(servers[name], mix, extra));
        log(`  ${scenario} round ${round + 1}: ${measured.map((name) => `${name} ${figures[name].at(-1).rps.toFixed(0)} req/s`).join(', ')}`);
        if (extra.method === 'POST') {
          const { removed, ms } = await removeWrites(db, seededAt);
          log(`    removed the round's ${removed} boards (${ms} ms with the vacuum)`);
        }
      }
      for (const name of Object.keys(underLoad)) {
        const server = probedServer[name];
        const [list, probed] = await Promise.all([
          load(server, listMix(spread)),
          probe({ url: probeUrls[name], duration, rate: PROBE_RATE }),
        ]);
        underLoad[name].push({ ...probed, listRps: list.rps, errors: list.errors + list.non2xx + probed.failed });
      }
      log(
        `  GET /health/ready under the list load round ${round + 1}: ` +
          Object.entries(underLoad)
            .map(([name, r]) => `${name} p50 ${r.at(-1).p50.toFixed(2)} ms p99 ${r.at(-1).p99.toFixed(2)} ms (list ${r.at(-1).listRps.toFixed(0)} req/s)`)
            .join(', '),
      );
    }
    const rows = compared.map(([scenario, , measured], index) => ({
      name: scenario,
      ...Object.fromEntries(measured.map((name) => [name, average(results[index][name])])),
    }));
    const mean = (list, key) => list.reduce((sum, r) => sum + r[key], 0) / list.length;
    const probeUnderLoad = Object.fromEntries(
      Object.entries(underLoad).map(([name, list]) => [
        name,
        { p50: mean(list, 'p50'), p99: mean(list, 'p99'), max: Math.max(...list.map((r) => r.max)), listRps: mean(list, 'listRps'), probes: list.reduce((s, r) => s + r.count, 0), errors: list.reduce((s, r) => s + r.errors, 0) },
      ]),
    );

    const peakRssMb = project.peakRssMb();
    const baselinePeakRssMb = baseline.peakRssMb();
    const limitPeakRssMb = limit.peakRssMb();
    return { name, shape, seedSeconds, startToReadyMs, peakRssMb, baselinePeakRssMb, limitPeakRssMb, rows, probeUnderLoad, probeRate: PROBE_RATE, agreement };
  } finally {
    for (const server of started) await server.stop();
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
  const write = find(scale, 'POST /api/boards (spread mix)');
  const tag = `[${scale.name}]`;
  const ratio = (a, b) => a / b;
  const atLeast = (target, a, b, bound) => ({ target, measured: ratio(a, b).toFixed(2), met: ratio(a, b) >= bound });
  const atMost = (target, a, b, bound) => ({ target, measured: ratio(a, b).toFixed(2), met: ratio(a, b) <= bound });
  const probed = scale.probeUnderLoad.project;
  checks.push(
    // Issue 20: against the bare limit (one round trip per request).
    atLeast(`${tag} GET /api/boards throughput ≥ 0.8× the one-round-trip limit`, list.project.rps, list.limit.rps, 0.8),
    atMost(`${tag} GET /api/boards p99 ≤ 1.25× the limit's`, list.project.p99, list.limit.p99, 1.25),
    atLeast(`${tag} GET /api/boards/{id} throughput ≥ 0.8× the one-round-trip limit`, get.project.rps, get.limit.rps, 0.8),
    atMost(`${tag} GET /api/boards/{id} p99 ≤ 1.25× the limit's`, get.project.p99, get.limit.p99, 1.25),
    atLeast(`${tag} POST /api/boards throughput ≥ 0.8× the bare write baseline (the limit's POST)`, write.project.rps, write.limit.rps, 0.8),
    {
      target: `${tag} GET /health/ready p50 ≤ 2 ms under the list load`,
      measured: `${probed.p50.toFixed(2)} ms (p99 ${probed.p99.toFixed(2)} ms; limit ${scale.probeUnderLoad.limit.p50.toFixed(2)} ms)`,
      met: probed.p50 <= 2,
    },
    // The earlier targets, against the old 4-round-trip baseline.
    atLeast(`${tag} GET /api/boards throughput ≥ 0.8× the 4-round-trip baseline`, list.project.rps, list.baseline.rps, 0.8),
    atMost(`${tag} GET /api/boards p99 ≤ 1.5× the 4-round-trip baseline`, list.project.p99, list.baseline.p99, 1.5),
    atLeast(`${tag} GET /api/boards/{id} throughput ≥ 0.8× the 4-round-trip baseline`, get.project.rps, get.baseline.rps, 0.8),
    atMost(`${tag} GET /api/boards/{id} p99 ≤ 1.5× the 4-round-trip baseline`, get.project.p99, get.baseline.p99, 1.5),
    atLeast(`${tag} spread-mix throughput ≥ 0.9× single-tenant mix (list)`, list.project.rps, single.project.rps, 0.9),
    { target: `${tag} peak RSS ≤ 200 MB`, measured: `${scale.peakRssMb.toFixed(1)} MB`, met: scale.peakRssMb <= 200 },
    { target: `${tag} start to ready ≤ 2 s`, measured: `${scale.startToReadyMs} ms`, met: scale.startToReadyMs <= 2_000 },
  );
  // A refused request is answered fast: a scenario with errors overstates the project's throughput.
  const failed = scale.rows.filter((row) => row.project.errors + row.project.non2xx > 0);
  checks.push({
    target: `${tag} no errors and no non-2xx answers in the project's measured requests`,
    measured: failed.length === 0 ? 'none' : failed.map((row) => `${row.name}: ${row.project.errors + row.project.non2xx}`).join('; '),
    met: failed.length === 0,
  });
}
if (scales.length === 2) {
  const small = find(scales[0], 'GET /api/boards (spread mix)').project.p50;
  const large = find(scales[1], 'GET /api/boards (spread mix)').project.p50;
  checks.push({ target: 'list p50 at 10,000 tenants ≤ 1.2× at 100 tenants', measured: (large / small).toFixed(2), met: large / small <= 1.2 });
}

const run = { date: new Date().toISOString(), duration, rounds, connections, poolSize, nodeOptions: IMAGE_NODE_OPTIONS, postgresVersion: memory.server_version, memory };
// --out DIR: the report, chart and figures go there (a trial run that must not replace bench/RESULTS.md).
const outDir = args.out ? resolve(args.out) : here;
const resultsDir = args.out ? outDir : join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, `${run.date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ run, scales, checks }, null, 2));
writeReport({ path: join(outDir, 'RESULTS.md'), svgPath: join(outDir, 'results.svg'), run, scales, checks });
for (const check of checks) log(`${check.met ? 'met   ' : 'MISSED'} ${check.target}: ${check.measured}`);
log(`wrote ${join(outDir, 'RESULTS.md')} and ${join(outDir, 'results.svg')}`);
