// Creates the benchmark's own database and roles, applies the migrations with the project's CLI,
// seeds tenants, users, boards and members, and drops everything afterwards.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { mintTokens } from './tokens.mjs';

export const ADMIN_URL = process.env.BOARDS_BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

function urlFor(role, database) {
  const url = new URL(ADMIN_URL);
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(work, database = 'postgres') {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const LOCAL_HOSTS = new Set(['', 'localhost', '127.0.0.1', '[::1]']);

/**
 * The server's version and shared memory: `shared_buffers`, the 2 MB huge pages it would take, and whether it
 * got them. PostgreSQL's default `huge_pages = try` falls back to 4 kB pages without a word when
 * the kernel reserves none (`vm.nr_hugepages`); on a virtual machine every backend then pays
 * page-table work for each shared buffer it touches, which is what a mix spread over thousands of
 * tenants does. `hugePagesInUse` is read from the mappings of this session's backend
 * (`/anon_hugepage`), so it is null when the server is not on this machine or not readable.
 */
export async function serverMemory() {
  return admin(async (client) => {
    const { rows } = await client.query(
      `SELECT pg_backend_pid() AS pid, current_setting('server_version') AS server_version,
              current_setting('shared_buffers') AS shared_buffers,
              current_setting('huge_pages') AS huge_pages,
              current_setting('shared_memory_size_in_huge_pages') AS huge_pages_needed`,
    );
    const { pid, ...settings } = rows[0];
    let hugePagesInUse = null;
    if (LOCAL_HOSTS.has(new URL(ADMIN_URL).hostname)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) {
          hugePagesInUse = readFileSync(`/proc/${pid}/maps`, 'utf8').includes('/anon_hugepage');
        }
      } catch {
        // another pid namespace, or not allowed to read it: unknown
      }
    }
    return { ...settings, hugePagesInUse };
  });
}

/** A fresh database `name` owned by `<name>_owner`, with runtime role `<name>_app`. */
export async function createDatabase(name) {
  const owner = `${name}_owner`;
  const runtime = `${name}_app`;
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS ${runtime}`);
    await client.query(`DROP ROLE IF EXISTS ${owner}`);
    await client.query(`CREATE ROLE ${owner} LOGIN`);
    await client.query(`CREATE ROLE ${runtime} LOGIN`);
    await client.query(`CREATE DATABASE ${name} OWNER ${owner}`);
  });
  // What the install's superuser runs in the new database (deploy/postgres-init.sql): board search
  // uses its trigram indexes under row-level security.
  await admin((client) => client.query('ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF'), name);
  return {
    name,
    runtimeRole: runtime,
    ownerUrl: urlFor(owner, name),
    runtimeUrl: urlFor(runtime, name),
    async drop() {
      await admin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${runtime}`);
        await client.query(`DROP ROLE IF EXISTS ${owner}`);
      });
    },
  };
}

export function migrate(db, cliPath, extraEnv = {}) {
  const result = spawnSync(process.execPath, [cliPath, 'migrate', 'up'], {
    env: {
      PATH: process.env.PATH,
      BOARDS_DATABASE_URL: db.runtimeUrl,
      BOARDS_DATABASE_OWNER_URL: db.ownerUrl,
      BOARDS_DATABASE_RUNTIME_ROLE: db.runtimeRole,
      BOARDS_LOG_LEVEL: 'silent',
      ...extraEnv,
    },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`migrate up failed: ${result.stderr}`);
}

/**
 * Seeds `tenants` tenants (slugs bench-1 … bench-N), each with `users` users (subjects u0 … u{n-1},
 * provider jwt), `boards` boards owned round-robin (every fifth public), and `members` members per
 * board. Inserted as the owner role, one transaction per tenant (row-level security applies to the
 * owner too).
 */
export async function seed(db, shape, progress) {
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO tenants (name, slug) SELECT 'Bench tenant ' || i, 'bench-' || i FROM generate_series(1, $1) i`,
      [shape.tenants],
    );
    const { rows: tenants } = await client.query(`SELECT id, slug FROM tenants WHERE slug LIKE 'bench-%' ORDER BY slug`);
    let done = 0;
    for (const tenant of tenants) {
      await seedTenant(client, tenant, shape);
      done++;
      if (done % Math.max(1, Math.floor(tenants.length / 10)) === 0 || done === tenants.length) {
        progress(`  seeded ${done}/${tenants.length} tenants`);
      }
    }
    // As autovacuum would: statistics, and the visibility map that index-only scans rely on.
    await client.query('VACUUM (ANALYZE)');
    return tenants;
  } finally {
    await client.end();
  }
}

/**
 * One tenant's users (subjects u0 … u{n-1}, provider jwt), boards and members, in one transaction
 * bound to it, on `client` (the owner role of the database that holds the tenant).
 */
export async function seedTenant(client, tenant, shape) {
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
  await client.query(
    `INSERT INTO users (auth_provider, auth_subject, email, display_name, tenant_role)
     SELECT 'jwt', 'u' || i, 'u' || i || '@' || $2 || '.test', 'User ' || i, CASE WHEN i = 0 THEN 'admin' ELSE 'member' END
       FROM generate_series(0, $1 - 1) i`,
    [shape.users, tenant.slug],
  );
  await client.query(
    `WITH us AS (SELECT array_agg(id ORDER BY (substr(auth_subject, 2))::int) AS ids FROM users)
     INSERT INTO boards (owner_id, title, description, is_public, created_at, updated_at)
     SELECT us.ids[1 + (i % $1)], 'Board ' || i || ' of ' || $3, 'Moodboard number ' || i || ' with generated images',
            i % 5 = 0, now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
       FROM us, generate_series(0, $2 - 1) i`,
    [shape.users, shape.boards, tenant.slug],
  );
  await client.query(
    `WITH us AS (SELECT array_agg(id ORDER BY (substr(auth_subject, 2))::int) AS ids FROM users),
          bs AS (SELECT id, owner_id, row_number() OVER (ORDER BY created_at DESC, id) - 1 AS n FROM boards)
     INSERT INTO board_members (board_id, user_id, role)
     SELECT bs.id, us.ids[1 + ((bs.n + k) % $1)], (ARRAY['viewer', 'editor', 'admin'])[1 + k % 3]
       FROM us, bs, generate_series(1, $2) k
      WHERE us.ids[1 + ((bs.n + k) % $1)] <> bs.owner_id
     ON CONFLICT DO NOTHING`,
    [shape.users, shape.members],
  );
  await client.query('COMMIT');
}

/** Token and board id per (tenant, user): one board the user owns, read as superuser. */
export async function requestMix(db, secret) {
  const rows = await asSuperuser(db, async (client) => {
    const result = await client.query(
      `SELECT DISTINCT ON (b.tenant_id, b.owner_id) t.slug, u.auth_subject AS subject, b.id AS board_id
         FROM boards b
         JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.owner_id
         JOIN tenants t ON t.id = b.tenant_id
        ORDER BY b.tenant_id, b.owner_id, b.id`,
    );
    return result.rows;
  });
  const tokens = mintTokens(rows, secret);
  return rows.map((row, index) => ({ slug: row.slug, token: tokens[index], boardId: row.board_id }));
}

/** A superuser session on the bench database (row-level security does not apply to it). */
export function asSuperuser(db, work) {
  return admin(work, db.name);
}

/** A superuser session on the server's maintenance database (CREATE and DROP DATABASE). */
export function asServerAdmin(work) {
  return admin(work);
}

export { urlFor };
