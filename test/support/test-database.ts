import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { loadConfig, type BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget } from 'src/core/database/data-sources';
import { LEAKPROOF_ILIKE_SQL } from 'src/core/database/search-index';
import { MigrationRunner } from 'src/core/database/migration-runner';
import { ENTITIES } from 'src/entities';
import { ADMIN_URL, hasPostgres } from './environment';

/**
 * A database of its own for one test suite, migrated, with its own owner and runtime roles.
 *
 * - On a real PostgreSQL server: a fresh database `bt_<id>` owned by role `bt_owner_<id>`, and a
 *   runtime role `bt_app_<id>` (LOGIN, no BYPASSRLS, owns nothing). `drop()` removes all three.
 * - Without one: an in-memory embedded PGlite; the runtime data source acts as `boards_app`.
 *
 * `env` is the BOARDS_* environment that points a server (createApp) at this database.
 */
export interface TestDatabase {
  readonly embedded: boolean;
  readonly env: Record<string, string>;
  readonly runtimeRole: string;
  readonly target: DatabaseTarget;
  /** Owner-level data source (migrations, seeding as the table owner, cleanup). */
  readonly owner: DataSource;
  /** Runtime data source: the role the API uses, subject to RLS. */
  readonly runtime: DataSource;
  /** A config for this database with extra BOARDS_* variables. */
  config(overrides?: Record<string, string>): BoardsConfig;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  options: { poolSize?: number } = {},
): Promise<TestDatabase> {
  const id = randomBytes(5).toString('hex');
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let runtimeRole: string;

  if (hasPostgres()) {
    const name = `bt_${id}`;
    const ownerRole = `bt_owner_${id}`;
    runtimeRole = `bt_app_${id}`;
    await withAdmin(async (admin) => {
      await admin.query(`CREATE ROLE ${ownerRole} LOGIN NOSUPERUSER NOBYPASSRLS`);
      await admin.query(`CREATE ROLE ${runtimeRole} LOGIN NOSUPERUSER NOBYPASSRLS`);
      await admin.query(`CREATE DATABASE ${name} OWNER ${ownerRole}`);
    });
    // What the install's superuser runs in the new database (deploy/postgres-init.sql).
    await withAdmin((admin) => admin.query(LEAKPROOF_ILIKE_SQL).then(() => undefined), name);
    const server = new URL(ADMIN_URL);
    const urlFor = (role: string) => {
      const url = new URL(server.toString());
      url.username = role;
      url.password = '';
      url.pathname = `/${name}`;
      return url.toString();
    };
    env = {
      BOARDS_DATABASE_URL: urlFor(runtimeRole),
      BOARDS_DATABASE_OWNER_URL: urlFor(ownerRole),
      BOARDS_DATABASE_RUNTIME_ROLE: runtimeRole,
      BOARDS_DATABASE_POOL_SIZE: String(options.poolSize ?? 5),
    };
    cleanup = () =>
      withAdmin(async (admin) => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`DROP ROLE IF EXISTS ${runtimeRole}`);
        await admin.query(`DROP ROLE IF EXISTS ${ownerRole}`);
      });
  } else {
    runtimeRole = 'boards_app';
    env = { BOARDS_EMBEDDED_DATA_DIR: 'memory://' };
    cleanup = async () => undefined;
  }

  const config = (overrides: Record<string, string> = {}) =>
    loadConfig({
      BOARDS_REDIS_KEY_PREFIX: `bt_${id}`,
      BOARDS_ENVIRONMENT: 'test',
      BOARDS_LOG_LEVEL: 'silent',
      BOARDS_DATABASE_AUTO_MIGRATE: 'false',
      ...env,
      ...overrides,
    });

  const target = await DatabaseTarget.open(config(), ENTITIES);
  const owner = await target.connect('owner');
  await new MigrationRunner(owner, runtimeRole).up();
  const runtime = await target.connect('runtime');

  return {
    embedded: !hasPostgres(),
    env,
    runtimeRole,
    target,
    owner,
    runtime,
    config,
    async drop() {
      await runtime.destroy().catch(() => undefined);
      await owner.destroy().catch(() => undefined);
      await target.close().catch(() => undefined);
      await cleanup();
    },
  };
}

async function withAdmin(work: (admin: Client) => Promise<void>, database?: string): Promise<void> {
  const url = new URL(ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/** A test database on a real server, reached as the server's admin (superuser) role. */
export function adminUrlOf(db: TestDatabase): string {
  const url = new URL(ADMIN_URL);
  url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
  return url.toString();
}
