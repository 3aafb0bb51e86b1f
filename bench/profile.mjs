// Where the server's CPU goes per request (issue 20): `node bench/profile.mjs [--duration 10]`.
// Seeds the small shape, then for each route (list, get, create) starts the project with
// `--cpu-prof`, warms it up, loads it for `--duration` seconds, stops it, and charges every CPU
// sample taken during the load to a category (Fastify, Nest, guards, context, logging, metrics,
// rate limits, validation, serialization, ORM, driver, Node.js, GC, …) by the code it was in (its
// own time, not its callees'; V8 builtins, such as the promise machinery, array and string
// methods, have no script and keep a line of their own).
// Prints microseconds of server CPU per request by category, as a Markdown table
// (docs/performance.md keeps the latest).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDatabase, migrate, requestMix, seed } from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { IMAGE_NODE_OPTIONS, startProject } from './lib/servers.mjs';
import { BENCH_SECRET } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', 'dist/src/cli.js');
const SECRET = BENCH_SECRET;
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    // `--top 25`: also print each route's 25 costliest functions, V8 builtins charged to the
    // nearest caller that has a script (so a promise job shows under the code that awaited).
    top: { type: 'string', default: '0' },
    // `--routes list,get`: profile only these (list, get, create).
    routes: { type: 'string', default: 'list,get,create' },
    // `--callers deprecate`: also print the call paths (5 frames up) that reach functions of this name.
    callers: { type: 'string' },
    // `--depth 12`: how many callers up `--callers` prints (5 unless told).
    depth: { type: 'string', default: '5' },
    // `--long-tasks 3`: also print the stretches of 3 ms or more the main thread spent without going idle.
    'long-tasks': { type: 'string' },
    // `--node-options=--max-semi-space-size=16`: instead of the production image's NODE_OPTIONS.
    'node-options': { type: 'string' },
  },
});
const log = (message) => process.stderr.write(`${message}\n`);

/** First match wins: [category, test on the sample's call frame]. */
const CATEGORIES = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['V8 and native (program)', (f) => f.functionName === '(program)'],
  [
    'JSON (serialization, parsing)',
    (f) => !f.url && /^(stringify|parse|JSONStringify|JsonStringify)/.test(f.functionName),
  ],
  [
    'Fastify (routing, hooks, reply)',
    (f) =>
      /node_modules\/(fastify|find-my-way|avvio|@fastify|fast-json-stringify|light-my-request|secure-json-parse|abstract-logging)\//.test(
        f.url,
      ),
  ],
  [
    'Nest (router, pipes, interceptors, DI)',
    (f) =>
      /node_modules\/(@nestjs\/(core|common|platform-fastify)|rxjs|reflect-metadata)\//.test(f.url),
  ],
  [
    'validation (class-validator, class-transformer)',
    (f) => /node_modules\/(class-validator|class-transformer|validator)\//.test(f.url),
  ],
  [
    'guards: authentication and tenant (ours + passport, jose)',
    (f) =>
      /dist\/src\/modules\/auth\/|node_modules\/(passport|passport-jwt|passport-strategy|jsonwebtoken|jws|jwa|jose|@nestjs\/passport)\//.test(
        f.url,
      ),
  ],
  [
    'context (AsyncLocalStorage, nestjs-cls)',
    (f) =>
      /dist\/src\/core\/context\/|node_modules\/nestjs-cls\//.test(f.url) ||
      (/^(AsyncLocalStorage|run|enterWith)$/.test(f.functionName) &&
        /async_hooks|async_local_storage/.test(f.url)),
  ],
  [
    'logging (pino)',
    (f) =>
      /dist\/src\/core\/logging\/|node_modules\/(pino|pino-http|nestjs-pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free)\//.test(
        f.url,
      ),
  ],
  [
    'metrics (prom-client)',
    (f) =>
      /dist\/src\/(core|modules)\/metrics\/|node_modules\/(prom-client|tdigest|bintrees)\//.test(
        f.url,
      ),
  ],
  [
    'rate limits (throttler, Redis)',
    (f) =>
      /dist\/src\/core\/rate-limit\/|dist\/src\/core\/redis\/|node_modules\/(@nestjs\/throttler|@nest-lab|ioredis|redis-parser|cluster-key-slot|denque)\//.test(
        f.url,
      ),
  ],
  ['cache (tenants, users)', (f) => /dist\/src\/core\/cache\//.test(f.url)],
  [
    'HTTP hardening and direct routes (ours)',
    (f) => /dist\/src\/core\/http\/|node_modules\/helmet\//.test(f.url),
  ],
  ['tenant transactions and repositories (ours)', (f) => /dist\/src\/core\/database\//.test(f.url)],
  ['ORM (TypeORM)', (f) => /node_modules\/typeorm\//.test(f.url)],
  [
    'driver (pg)',
    (f) =>
      /node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-connection-string|postgres-array|postgres-date|postgres-interval|postgres-bytea|buffer-writer|packet-reader)\//.test(
        f.url,
      ),
  ],
  ['errors (filter)', (f) => /dist\/src\/core\/errors\//.test(f.url)],
  [
    'handlers and services (boards)',
    (f) => /dist\/src\/modules\/boards\/|dist\/src\/common\//.test(f.url),
  ],
  ['other application code', (f) => /dist\/src\//.test(f.url)],
  ['Node.js (http, net, streams, timers)', (f) => f.url.startsWith('node:')],
  ['other libraries', (f) => /node_modules\//.test(f.url)],
  ['V8 builtins (promise jobs, array and string methods; not attributed)', () => true],
];

function categorize(frame) {
  return CATEGORIES.find(([, test]) => test(frame))[0];
}

/** Calls `visit(node, µs)` for every sample taken in [fromUs, toUs] (profile clock). */
function eachSample(profile, fromUs, toUs, visit) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t >= fromUs && t <= toUs)
      visit(byId.get(profile.samples[i]), profile.timeDeltas[i + 1] ?? 0);
  }
}

/** Each profile node's caller. */
function callersOf(profile) {
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node);
  return parent;
}

const frameName = (frame) =>
  `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}`;

/** Adds `µs` to `key` in `totals`. */
const add = (totals, key, us) => totals.set(key, (totals.get(key) ?? 0) + us);

/** Microseconds of self time per category for the samples in [fromUs, toUs] (profile clock). */
function selfTimes(profile, fromUs, toUs) {
  const totals = new Map();
  eachSample(profile, fromUs, toUs, (node, us) => add(totals, categorize(node.callFrame), us));
  return totals;
}

/** µs per function for the samples in [fromUs, toUs]; a builtin's time goes to its nearest scripted caller. */
function topFunctions(profile, fromUs, toUs) {
  const parent = callersOf(profile);
  const totals = new Map();
  eachSample(profile, fromUs, toUs, (sampled, us) => {
    let node = sampled;
    if (node.callFrame.functionName === '(idle)') return;
    let key = frameName(node.callFrame);
    if (!node.callFrame.url && !node.callFrame.functionName.startsWith('(')) {
      const builtin = node.callFrame.functionName;
      while (node && !node.callFrame.url) node = parent.get(node.id);
      key = `[${builtin}] ← ${node ? frameName(node.callFrame) : '(root)'}`;
    }
    add(totals, key, us);
  });
  return totals;
}

/**
 * Stretches of at least `minMs` in which the main thread never went idle (no request is answered
 * during one, so they set the tail latency), longest first: how long, the share of GC, and the
 * outermost scripted frames and the functions that took their samples.
 */
function longTasks(profile, fromUs, toUs, minMs) {
  const parent = callersOf(profile);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const outermost = (node) => {
    let found;
    for (let up = node; up; up = parent.get(up.id)) if (up.callFrame.url) found = up;
    return found ? frameName(found.callFrame) : node.callFrame.functionName;
  };
  const tasks = [];
  let task;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (node.callFrame.functionName === '(idle)') {
      if (task && task.us >= minMs * 1000) tasks.push(task);
      task = undefined;
      continue;
    }
    task ??= { us: 0, gc: 0, roots: new Map(), own: new Map() };
    task.us += us;
    if (node.callFrame.functionName === '(garbage collector)') task.gc += us;
    add(task.roots, outermost(node), us);
    add(task.own, frameName(node.callFrame), us);
  }
  return tasks.sort((a, b) => b.us - a.us);
}

/** µs per call path (`--depth` callers up) of the samples in functions named `name`, inclusive. */
function callPaths(profile, fromUs, toUs, name) {
  const parent = callersOf(profile);
  const paths = new Map();
  eachSample(profile, fromUs, toUs, (sampled, us) => {
    let node = sampled;
    while (node && node.callFrame.functionName !== name) node = parent.get(node.id);
    if (!node) return;
    const frames = [];
    for (let up = parent.get(node.id); up && frames.length < Number(args.depth); up = parent.get(up.id))
      frames.push(frameName(up.callFrame));
    add(paths, frames.join(' ← '), us);
  });
  return paths;
}

async function profileRoute(db, route, mix, body) {
  const dir = mkdtempSync(join(tmpdir(), 'boards-prof-'));
  const project = startProject({
    cliPath,
    db,
    port: 8990,
    poolSize: 10,
    secret: SECRET,
    nodeOptions: args['node-options'] ?? IMAGE_NODE_OPTIONS,
    execArgv: [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      ...(args['long-tasks'] ? ['--cpu-prof-interval=100'] : []),
    ],
  });
  const spawnedAt = performance.now();
  try {
    await project.ready(60_000);
    const load = (extra) =>
      measure({
        baseUrl: project.baseUrl,
        mix,
        connections: Number(args.connections),
        ...body,
        ...extra,
      });
    await load({ amount: mix.length });
    await load({ duration: 3 });
    const from = performance.now() - spawnedAt;
    const result = await load({ duration: Number(args.duration) });
    const to = performance.now() - spawnedAt;
    await project.stop();
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    // The profile's clock starts with the process: offsets from its first sample, in µs.
    const window = [profile.startTime + from * 1000, profile.startTime + to * 1000];
    const totals = selfTimes(profile, ...window);
    const top = Number(args.top);
    if (top > 0) {
      const functions = [...topFunctions(profile, ...window)]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top);
      log(`\n${route}: the ${top} costliest functions, µs per request`);
      for (const [fn, us] of functions) log(`${(us / result.total).toFixed(1).padStart(7)}  ${fn}`);
    }
    if (args['long-tasks']) {
      const tasks = longTasks(profile, ...window, Number(args['long-tasks']));
      const seconds = (to - from) / 1000;
      log(
        `\n${route}: ${tasks.length} stretches of ${args['long-tasks']} ms or more without going idle in ${seconds.toFixed(0)} s; the longest:`,
      );
      const top3 = (map) =>
        [...map]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([name, us]) => `${name} ${(us / 1000).toFixed(1)}`)
          .join('; ');
      for (const task of tasks.slice(0, 12)) {
        log(
          `  ${(task.us / 1000).toFixed(1)} ms (GC ${(task.gc / 1000).toFixed(1)}): from ${top3(task.roots)}\n      own: ${top3(task.own)}`,
        );
      }
    }
    if (args.callers) {
      const paths = callPaths(profile, ...window, args.callers);
      log(`\n${route}: where ${args.callers} is called from (µs per request, inclusive)`);
      for (const [path, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 8))
        log(`${(us / result.total).toFixed(1).padStart(7)}  ${path}`);
    }
    return { route, requests: result.total, rps: result.rps, totals };
  } finally {
    await project.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const db = await createDatabase('bench_profile');
try {
  log('migrating and seeding (100 tenants × 200 boards)…');
  migrate(db, cliPath);
  await seed(db, { tenants: 100, users: 20, boards: 200, members: 5 }, log);
  const everyone = await requestMix(db, SECRET);
  const spread = everyone.filter((_, i) => i % 2 === 0);
  const routes = [
    ['GET /api/boards', spread.map((u) => ({ token: u.token, path: '/api/boards' })), {}],
    [
      'GET /api/boards/{id}',
      spread.map((u) => ({ token: u.token, path: `/api/boards/${u.boardId}` })),
      {},
    ],
    [
      'POST /api/boards',
      spread.map((u) => ({ token: u.token, path: '/api/boards' })),
      {
        method: 'POST',
        body: (n) => ({ title: `Profiled board ${n}`, description: 'created under load' }),
      },
    ],
  ];
  const wanted = new Set(args.routes.split(','));
  const keys = ['list', 'get', 'create'];
  const results = [];
  for (const [route, mix, body] of routes.filter((_, i) => wanted.has(keys[i]))) {
    log(`profiling ${route}…`);
    results.push(await profileRoute(db, route, mix, body));
  }
  const categories = [...new Set(results.flatMap((r) => [...r.totals.keys()]))].filter(
    (c) => c !== 'idle',
  );
  const perRequest = (r, c) => (r.totals.get(c) ?? 0) / r.requests;
  categories.sort((a, b) => perRequest(results[0], b) - perRequest(results[0], a));
  console.log(`| µs of server CPU per request | ${results.map((r) => r.route).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---').join('|')}|`);
  for (const category of categories) {
    console.log(
      `| ${category} | ${results.map((r) => perRequest(r, category).toFixed(0)).join(' | ')} |`,
    );
  }
  const busy = (r) => categories.reduce((sum, c) => sum + perRequest(r, c), 0);
  console.log(`| **total CPU** | ${results.map((r) => `**${busy(r).toFixed(0)}**`).join(' | ')} |`);
  console.log(
    `| requests measured (req/s) | ${results.map((r) => `${r.requests} (${r.rps.toFixed(0)})`).join(' | ')} |`,
  );
} finally {
  await db.drop();
}
