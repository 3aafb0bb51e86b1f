import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { loadConfig, type BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget } from 'src/core/database/data-sources';
import { LEAKPROOF_ILIKE_SQL } from 'src/core/database/search-index';
import { MigrationRunner } from 'src/core/database/migration-runner';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ENTITIES } from 'src/entities';
import { createTenant as insertTenantRow, type SeededTenant } from 'test/factories/seed';
import { ADMIN_URL, hasPostgres } from './environment';

export type TestIsolation = 'shared' | 'database';

/**
 * The tenant layout the suites run in: BOARDS_TEST_ISOLATION=database (the `e2e-database` Jest
 * project sets it) gives every tenant a database of its own; anything else the shared database.
 */
export function testIsolation(): TestIsolation {
  return process.env.BOARDS_TEST_ISOLATION === 'database' ? 'database' : 'shared';
}

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
  /** `database`: the app runs with BOARDS_TENANT_ISOLATION=database over this control database. */
  readonly isolation: TestIsolation;
  readonly env: Record<string, string>;
  readonly runtimeRole: string;
  readonly target: DatabaseTarget;
  /** Owner-level data source (migrations, seeding as the table owner, cleanup). */
  readonly owner: DataSource;
  /** Runtime data source: the role the API uses, subject to RLS. */
  readonly runtime: DataSource;
  /** A config for this database with extra BOARDS_* variables. */
  config(overrides?: Record<string, string>): BoardsConfig;
  /**
   * A tenant, active, named `slug`: its registry row, and with a database per tenant its own
   * database, created, migrated and holding its row.
   */
  createTenant(slug: string): Promise<SeededTenant>;
  /**
   * Where the tenant's rows are: its own database with a database per tenant, else this one
   * (`owner` or `runtime` role). Looked up once per tenant (a test that moves a tenant asks
   * `forgetTenantData`), closed by drop().
   */
  tenantData(tenantId: string, role: 'owner' | 'runtime'): Promise<DataSource>;
  /** Looks the tenant's place up again next time (it moved). */
  forgetTenantData(tenantId: string): Promise<void>;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  options: { poolSize?: number; isolation?: TestIsolation } = {},
): Promise<TestDatabase> {
  const id = randomBytes(5).toString('hex');
  const isolation = hasPostgres() ? (options.isolation ?? testIsolation()) : 'shared';
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let runtimeRole: string;

  if (hasPostgres()) {
    const name = `bt_${id}`;
    const ownerRole = `bt_owner_${id}`;
    runtimeRole = `bt_app_${id}`;
    await withAdmin(async (admin) => {
      // CREATEDB: with a database per tenant the owner creates the tenants' databases.
      await admin.query(
        `CREATE ROLE ${ownerRole} LOGIN ${isolation === 'database' ? 'CREATEDB' : ''} NOSUPERUSER NOBYPASSRLS`,
      );
      await admin.query(`CREATE ROLE ${runtimeRole} LOGIN NOSUPERUSER NOBYPASSRLS`);
      // It also drops them, closing the runtime role's connections (docs/scaling.md).
      if (isolation === 'database') await admin.query(`GRANT pg_signal_backend TO ${ownerRole}`);
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
      ...(isolation === 'database' && {
        BOARDS_TENANT_ISOLATION: 'database',
        // {id}: a slug can be reused after a deletion, an id never.
        BOARDS_TENANT_DATABASE_URL_TEMPLATE: templateFor(urlFor(runtimeRole), `${name}_{id}`),
        BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE: templateFor(urlFor(ownerRole), `${name}_{id}`),
        BOARDS_TENANT_DATASOURCE_CACHE_SIZE: '10',
        BOARDS_TENANT_CONNECTION_BUDGET: '20',
      }),
    };
    cleanup = () =>
      withAdmin(async (admin) => {
        const tenants = await admin.query<{ datname: string }>(
          `SELECT datname FROM pg_database WHERE datname LIKE $1`,
          [`${name}\\_%`],
        );
        for (const { datname } of tenants.rows) {
          await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
        }
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
  const databases =
    isolation === 'database'
      ? new TenantDatabases(config(), runtime, target, undefined as unknown as TenantTransactions)
      : undefined;
  const tenantSources = new Map<string, Promise<DataSource>>();

  return {
    embedded: !hasPostgres(),
    isolation,
    env,
    runtimeRole,
    target,
    owner,
    runtime,
    config,
    async createTenant(slug) {
      const tenant = await insertTenantRow(owner, slug);
      if (databases) {
        await databases.ensureReady(tenant.id, 'active');
        // What the install's superuser runs in each tenant database (or once in template1, see
        // docs/scaling.md): search uses its trigram indexes under row-level security.
        const place = await databases.locator.place(tenant.id);
        const database = new URL(databases.locator.ownerUrl(place)).pathname.slice(1);
        await withAdmin(
          (admin) => admin.query(LEAKPROOF_ILIKE_SQL).then(() => undefined),
          database,
        );
      }
      return tenant;
    },
    tenantData(tenantId, role) {
      if (!databases) return Promise.resolve(role === 'owner' ? owner : runtime);
      const key = `${role}:${tenantId}`;
      let source = tenantSources.get(key);
      if (!source) {
        source = databases.locator.place(tenantId).then(async (place) => {
          // Not (yet) in a database of its own: in the control database.
          if (!place.own) return role === 'owner' ? owner : runtime;
          const url =
            role === 'owner'
              ? databases.locator.ownerUrl(place)
              : databases.locator.runtimeUrl(place);
          return target.connect(role, { url, poolSize: 2 });
        });
        tenantSources.set(key, source);
      }
      return source;
    },
    async forgetTenantData(tenantId) {
      for (const role of ['owner', 'runtime']) {
        const source = tenantSources.get(`${role}:${tenantId}`);
        tenantSources.delete(`${role}:${tenantId}`);
        const opened = await source?.catch(() => undefined);
        if (opened && opened !== owner && opened !== runtime) await opened.destroy();
      }
    },
    async drop() {
      for (const source of tenantSources.values()) {
        const opened = await source.catch(() => undefined);
        if (opened !== owner && opened !== runtime) await opened?.destroy().catch(() => undefined);
      }
      await databases?.onApplicationShutdown();
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

/** `url` with database `database`, its {id} placeholder left readable. */
function templateFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString().replace(/%7Bid%7D/g, '{id}');
}

/** A test database on a real server, reached as the server's admin (superuser) role. */
export function adminUrlOf(db: TestDatabase): string {
  const url = new URL(ADMIN_URL);
  url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
  return url.toString();
}
