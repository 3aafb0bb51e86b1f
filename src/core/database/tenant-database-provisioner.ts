import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { MIGRATION_NAMES } from 'migrations/index';
import { withDataSourceAt } from './data-sources';
import { MigrationRunner } from './migration-runner';
import { databaseName, quotedDatabase, withDatabase } from './tenant-database-url';

/** SQLSTATE of CREATE DATABASE for a name that exists (another provisioner got there first). */
const DUPLICATE_DATABASE = '42P04';
/** SQLSTATE of DROP DATABASE for a name that does not exist. */
const UNDEFINED_DATABASE = '3D000';

export type ProvisioningStep = 'database' | 'migrations' | 'verified';

export interface ProvisioningOptions {
  /** The runtime role the migrations grant to (BOARDS_DATABASE_RUNTIME_ROLE). */
  readonly runtimeRole: string;
  readonly connectTimeoutMs?: number;
  /** Called as each step completes (progress for the CLI; crash tests stop at a step). */
  readonly onStep?: (step: ProvisioningStep, database: string) => void | Promise<void>;
}

export interface ProvisioningResult {
  readonly database: string;
  /** Whether this call created the database (false: it existed, from an earlier try). */
  readonly created: boolean;
  /** The migrations this call applied (none when the database was already up to date). */
  readonly applied: readonly string[];
}

/** What `check` finds in a tenant database. */
export interface TenantDatabaseCheck {
  readonly database: string;
  readonly reachable: boolean;
  /** Migrations of this release not applied there. */
  readonly pending: readonly string[];
  /** Problems that make the database unfit to serve (empty when fit). */
  readonly problems: readonly string[];
}

/**
 * Creates, migrates, checks and drops tenant databases (BOARDS_TENANT_ISOLATION=database), with
 * the owner role's URL of each (it needs CREATEDB on the server). Every step can be repeated:
 * a database that exists is kept, applied migrations are skipped, and the migrations run in one
 * transaction under the migration lock, so a provisioning stopped anywhere completes on retry.
 */
export class TenantDatabaseProvisioner {
  constructor(private readonly options: ProvisioningOptions) {}

  async provision(ownerUrl: string): Promise<ProvisioningResult> {
    const database = databaseName(ownerUrl);
    const created = await this.createDatabase(ownerUrl);
    await this.options.onStep?.('database', database);
    const applied = await this.withOwner(ownerUrl, (owner) =>
      new MigrationRunner(owner, this.options.runtimeRole).up(),
    );
    await this.options.onStep?.('migrations', database);
    const check = await this.check(ownerUrl);
    if (check.problems.length > 0) {
      throw new Error(`tenant database ${database} is not fit: ${check.problems.join('; ')}`);
    }
    await this.options.onStep?.('verified', database);
    return { database, created, applied };
  }

  /**
   * CREATE DATABASE unless it exists, then only the runtime role (and the owner) may connect to
   * it. Returns whether this call created it.
   */
  async createDatabase(ownerUrl: string): Promise<boolean> {
    const database = databaseName(ownerUrl);
    return this.withMaintenance(ownerUrl, async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      let created = false;
      if (found.rowCount === 0) {
        try {
          await client.query(`CREATE DATABASE ${quotedDatabase(database)}`);
          created = true;
        } catch (err) {
          if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
        }
      }
      await client.query(`REVOKE CONNECT ON DATABASE ${quotedDatabase(database)} FROM PUBLIC`);
      await client.query(
        `GRANT CONNECT ON DATABASE ${quotedDatabase(database)} TO ${quotedRole(this.options.runtimeRole)}`,
      );
      return created;
    });
  }

  /**
   * What the database at `ownerUrl` holds, before anything creates, migrates or drops it:
   * `absent`; `empty` (no table: created by hand, or a provisioning that stopped before its
   * migrations); `ours` (a tenant database whose `tenants` holds `tenantId` alone, or no row yet);
   * `other` (another tenant's database, the control database, or something else altogether).
   */
  async contents(
    ownerUrl: string,
    tenantId: string,
  ): Promise<'absent' | 'empty' | 'ours' | 'other'> {
    const database = databaseName(ownerUrl);
    const exists = await this.withMaintenance(ownerUrl, async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      return (found.rowCount ?? 0) > 0;
    });
    if (!exists) return 'absent';
    const client = new Client({
      connectionString: ownerUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      application_name: 'boards-provisioner',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ tables: number; has_tenants: boolean }>(
        `SELECT (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND n.nspname NOT LIKE 'pg_toast%') AS tables,
                to_regclass('tenants') IS NOT NULL AS has_tenants`,
      );
      if (rows[0].tables === 0) return 'empty';
      if (!rows[0].has_tenants) return 'other';
      const ids = await client.query<{ id: string }>('SELECT id::text AS id FROM tenants LIMIT 2');
      return ids.rows.every((row) => row.id === tenantId) ? 'ours' : 'other';
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Applies pending migrations to an existing tenant database (never creates one). */
  async migrate(ownerUrl: string): Promise<string[]> {
    return this.withOwner(ownerUrl, (owner) =>
      new MigrationRunner(owner, this.options.runtimeRole).up(),
    );
  }

  /** Reachable, every migration applied, and the runtime role is a plain role. */
  async check(ownerUrl: string): Promise<TenantDatabaseCheck> {
    const database = databaseName(ownerUrl);
    try {
      return await this.withOwner(ownerUrl, async (owner) => {
        const status = await new MigrationRunner(owner, this.options.runtimeRole).status();
        const pending = status.filter((migration) => !migration.applied).map((m) => m.name);
        const problems: string[] = [];
        if (pending.length > 0) problems.push(`${pending.length} migrations pending`);
        const [role] = (await owner.query(
          'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
          [this.options.runtimeRole],
        )) as { rolsuper: boolean; rolbypassrls: boolean }[];
        if (!role) problems.push(`runtime role ${this.options.runtimeRole} does not exist`);
        else if (role.rolsuper || role.rolbypassrls) {
          problems.push(`runtime role ${this.options.runtimeRole} bypasses row-level security`);
        }
        return { database, reachable: true, pending, problems };
      });
    } catch (err) {
      return {
        database,
        reachable: false,
        pending: [...MIGRATION_NAMES],
        problems: [`not reachable: ${(err as Error).message}`],
      };
    }
  }

  /**
   * DROP DATABASE; false when there was none. The runtime role loses CONNECT first (no replica
   * opens a new connection meanwhile), and the open ones are closed (WITH (FORCE): the owner role
   * needs pg_signal_backend, or to be a member of the runtime role, to end them).
   */
  async drop(ownerUrl: string): Promise<boolean> {
    const database = databaseName(ownerUrl);
    return this.withMaintenance(ownerUrl, async (client) => {
      try {
        await client.query(
          `REVOKE CONNECT ON DATABASE ${quotedDatabase(database)} FROM ${quotedRole(this.options.runtimeRole)}`,
        );
        await client.query(`DROP DATABASE ${quotedDatabase(database)} WITH (FORCE)`);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === UNDEFINED_DATABASE) return false;
        throw err;
      }
    });
  }

  private async withMaintenance<T>(ownerUrl: string, work: (client: Client) => Promise<T>) {
    const client = new Client({
      connectionString: withDatabase(ownerUrl, 'postgres'),
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      application_name: 'boards-provisioner',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private withOwner<T>(ownerUrl: string, work: (owner: DataSource) => Promise<T>) {
    return withDataSourceAt(
      ownerUrl,
      { applicationName: 'boards-provisioner', connectTimeoutMs: this.options.connectTimeoutMs },
      work,
    );
  }
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function quotedRole(role: string): string {
  if (!ROLE_NAME.test(role)) throw new Error(`"${role}" is not a plain role name`);
  return `"${role}"`;
}
