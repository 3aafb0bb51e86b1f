// Where the server's memory goes at many tenants (issue 20): `node bench/heap.mjs [--tenants 10000]`.
// Seeds `--tenants` tenants (10 users, 20 boards each), starts the project as the bench does (the
// production image's Node.js options, the probe port), sends every tenant's first request (one
// user each: the spread mix), then a 10 s list load, and takes a heap snapshot
// (--heapsnapshot-signal). Prints the resident set, V8's heap and the objects the snapshot holds,
// by constructor (self sizes: what each kind of object takes itself), largest first.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDatabase, migrate, requestMix, seed, urlFor } from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { probe } from './lib/probe.mjs';
import { IMAGE_NODE_OPTIONS, startProject } from './lib/servers.mjs';
import { BENCH_SECRET } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', 'dist/src/cli.js');
const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '10000' },
    top: { type: 'string', default: '30' },
    // `--keep` leaves the seeded database (bench_heap); `--database bench_heap` uses it again.
    database: { type: 'string' },
    keep: { type: 'boolean', default: false },
    // `--rss-only`: print the resident set and V8's spaces, without a heap snapshot.
    'rss-only': { type: 'boolean', default: false },
    // `--save FILE`: keep the heap snapshot there, for DevTools' Memory panel.
    save: { type: 'string' },
    // `--env MALLOC_ARENA_MAX=2`: an extra variable for the server (repeatable).
    env: { type: 'string', multiple: true, default: [] },
    // `--node-arg=--some-v8-flag`: an extra Node.js option for the server (repeatable).
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const log = (message) => process.stderr.write(`${message}\n`);
const PROBE_PORT = 8996;
const tenants = Number(args.tenants);

/** Self size and count per node kind of a V8 heap snapshot. */
function bySelfSize(snapshot) {
  const {
    node_fields: fields,
    node_types: [types],
  } = snapshot.snapshot.meta;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const totals = new Map();
  let all = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]];
    const size = snapshot.nodes[i + sizeAt];
    all += size;
    // Objects by constructor; strings, code, arrays and the rest by their kind.
    const name =
      type === 'object' || type === 'closure'
        ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]]}`
        : type;
    const entry = totals.get(name) ?? { size: 0, count: 0 };
    entry.size += size;
    entry.count += 1;
    totals.set(name, entry);
  }
  return { totals, all };
}

/** A database seeded by an earlier `--keep` run, as createDatabase describes one. */
const seeded = (name) => ({
  name,
  runtimeRole: `${name}_app`,
  ownerUrl: urlFor(`${name}_owner`, name),
  runtimeUrl: urlFor(`${name}_app`, name),
  drop: async () => undefined,
});
const db = args.database ? seeded(args.database) : await createDatabase('bench_heap');
const dir = mkdtempSync(join(tmpdir(), 'boards-heap-'));
try {
  if (!args.database) {
    log(`migrating and seeding (${tenants} tenants × 20 boards)…`);
    migrate(db, cliPath);
    await seed(db, { tenants, users: 10, boards: 20, members: 5 }, log);
  }
  const everyone = await requestMix(db, BENCH_SECRET);
  const spread = [...new Map(everyone.map((e) => [e.slug, e])).values()];
  const mix = spread.map((u) => ({ token: u.token, path: '/api/boards' }));
  const project = startProject({
    cliPath,
    db,
    port: 8995,
    poolSize: 10,
    secret: BENCH_SECRET,
    nodeOptions: IMAGE_NODE_OPTIONS,
    extraEnv: {
      BOARDS_HEALTH_PORT: String(PROBE_PORT),
      BOARDS_LIST_BYTES_PER_SECOND: '1000000000',
      ...Object.fromEntries(args.env.map((pair) => pair.split(/=(.*)/s, 2))),
    },
    execArgv: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`, ...args['node-arg']],
  });
  try {
    await project.ready(60_000);
    log(`first contact of ${mix.length} users of ${spread.length} tenants…`);
    await measure({ baseUrl: project.baseUrl, mix, connections: 20, amount: mix.length });
    // The list load with the readiness probe beside it, as the bench runs them (the probe thread's memory counts).
    await Promise.all([
      measure({ baseUrl: project.baseUrl, mix, connections: 20, duration: 10 }),
      probe({ url: `http://127.0.0.1:${PROBE_PORT}/health/ready`, duration: 10 }),
    ]);
    const status = readFileSync(`/proc/${project.child.pid}/status`, 'utf8');
    // V8's spaces as prom-client reports them: what each holds against what it has taken.
    const metrics = await (await fetch(`${project.baseUrl}/metrics`)).text();
    const spaces = new Map();
    for (const [, kind, space, value] of metrics.matchAll(
      /^nodejs_heap_space_size_(total|used)_bytes\{space="(\w+)"\} (\d+)/gm,
    )) {
      spaces.set(space, { ...spaces.get(space), [kind]: Number(value) });
    }
    const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    const mb = (bytes) => (bytes / 1048576).toFixed(1);
    /** The objects of a heap snapshot taken now, by kind (--rss-only: none taken). */
    const snapshotTotals = async () => {
      log('taking a heap snapshot…');
      project.child.kill('SIGUSR2');
      let file;
      for (let waited = 0; !file && waited < 120_000; waited += 500) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const found = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot'));
        // Written when it parses: the writer is done.
        if (found) {
          try {
            JSON.parse(readFileSync(join(dir, found), 'utf8'));
            file = found;
          } catch {
            // still being written
          }
        }
      }
      if (!file) throw new Error('no heap snapshot within 2 minutes');
      if (args.save) copyFileSync(join(dir, file), args.save);
      return bySelfSize(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    };
    const objects = args['rss-only'] ? undefined : await snapshotTotals();
    console.log(`| ${tenants} tenants, after first contact and 10 s of list load | MB |`);
    console.log('|---|---|');
    console.log(`| resident set now (VmRSS) | ${mb(kb('VmRSS') * 1024)} |`);
    console.log(`| resident set peak (VmHWM) | ${mb(kb('VmHWM') * 1024)} |`);
    if (objects) console.log(`| live JavaScript objects (heap snapshot) | ${mb(objects.all)} |`);
    console.log('');
    console.log('| V8 space | used MB | taken MB |');
    console.log('|---|---|---|');
    for (const [space, { used, total }] of spaces)
      console.log(`| ${space} | ${mb(used)} | ${mb(total)} |`);
    if (objects) {
      console.log('');
      console.log('| kind of object | MB | count | bytes each |');
      console.log('|---|---|---|---|');
      for (const [name, { size, count }] of [...objects.totals]
        .sort((a, b) => b[1].size - a[1].size)
        .slice(0, Number(args.top))) {
        console.log(
          `| ${name.replace(/\|/g, '\\|')} | ${mb(size)} | ${count} | ${Math.round(size / count)} |`,
        );
      }
    }
  } finally {
    await project.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (!args.keep) await db.drop();
}
