import type { DataSource } from 'typeorm';
import type { BoardsConfig } from 'src/core/config/boards-config';
import {
  ownDatabasePlaces,
  TenantDatabaseLocator,
  type TenantDatabasePlace,
} from './tenant-database-locator';
import { TenantDatabaseProvisioner } from './tenant-database-provisioner';
import { databaseName } from './tenant-database-url';

/** What `boards migrate up|status` found in one tenant's database. */
export interface TenantMigrationReport {
  readonly tenant: string;
  readonly database: string;
  /** `ok`: up to date (after `up`, or already); `pending`: status found work; `failed`. */
  readonly outcome: 'ok' | 'pending' | 'failed';
  /** Migrations this run applied (`up`), or still pending (`status`). */
  readonly migrations: readonly string[];
  readonly error?: string;
}

export interface TenantMigrationOptions {
  readonly mode: 'up' | 'status';
  /** Tenant databases worked on at once. */
  readonly concurrency: number;
  /** Called after each tenant (`done` of `total`), for a progress line. */
  readonly onProgress?: (report: TenantMigrationReport, done: number, total: number) => void;
}

/**
 * `boards migrate up|status` over every tenant database (BOARDS_TENANT_ISOLATION=database), after
 * the control database (which also holds the tenants without a database of their own): each
 * tenant with its own database, in slug order, a few at a time. Each
 * database migrates in one transaction under its own migration lock, so a run stopped anywhere
 * resumes where it stopped (the databases done are found up to date), and one database that fails
 * is reported without stopping the others.
 */
export async function migrateTenantDatabases(
  config: BoardsConfig,
  control: DataSource,
  options: TenantMigrationOptions,
): Promise<TenantMigrationReport[]> {
  const locator = new TenantDatabaseLocator(config.tenancy, control);
  const provisioner = new TenantDatabaseProvisioner({
    runtimeRole: config.database.runtimeRole,
    connectTimeoutMs: config.database.connectTimeoutMs,
  });
  const places = await ownDatabasePlaces(control);
  const reports: TenantMigrationReport[] = new Array<TenantMigrationReport>(places.length);
  let next = 0;
  let done = 0;
  const one = async (place: TenantDatabasePlace): Promise<TenantMigrationReport> => {
    let database = place.slug;
    try {
      const url = locator.ownerUrl(place);
      database = databaseName(url);
      if (options.mode === 'up') {
        const applied = await provisioner.migrate(url);
        return { tenant: place.slug, database, outcome: 'ok', migrations: applied };
      }
      const check = await provisioner.check(url);
      if (!check.reachable) throw new Error(check.problems.join('; '));
      return {
        tenant: place.slug,
        database,
        outcome: check.pending.length === 0 ? 'ok' : 'pending',
        migrations: check.pending,
      };
    } catch (err) {
      return {
        tenant: place.slug,
        database,
        outcome: 'failed',
        migrations: [],
        error: (err as Error).message,
      };
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency, places.length)) }, async () => {
      for (let index = next++; index < places.length; index = next++) {
        reports[index] = await one(places[index]);
        options.onProgress?.(reports[index], ++done, places.length);
      }
    }),
  );
  return reports;
}
