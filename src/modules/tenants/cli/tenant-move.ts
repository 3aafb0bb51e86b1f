import type { DataSource, EntityManager } from 'typeorm';
import type { TenantDatabases } from 'src/core/database/tenant-databases';
import {
  exportTenant,
  SNAPSHOT_TABLES,
  tenantDataSummary,
  writeTenantRows,
  type TenantSnapshot,
} from './tenant-snapshot';

export interface MoveResult {
  readonly tenant: string;
  readonly direction: 'to-database' | 'to-shared';
  readonly counts: TenantSnapshot['counts'];
  readonly checksums: TenantSnapshot['checksums'];
  /** With a move back to the shared database: whether the tenant's own database was dropped. */
  readonly dropped?: boolean;
}

export interface MoveOptions {
  readonly direction: 'to-database' | 'to-shared';
  /** To a database of its own: postgres://host:port/database (null: the template's place). */
  readonly location: string | null;
  /** How long replicas get to see `moving` (their registry watcher) before the copy starts. */
  readonly settleMs: number;
}

/** Rows of the tenant in a database it leaves, children first (foreign keys). */
const DELETE_ORDER = [...SNAPSHOT_TABLES].reverse();

/**
 * `boards tenant move`: the tenant's rows from the shared (control) database to a database of its
 * own, or back, with the tenant read-only meanwhile (`moving`: its transactions are READ ONLY).
 *
 * 1. `moving`, and the record of the move (TenantDatabases.beginMove); replicas see it within
 *    `settleMs` and writes already running finish.
 * 2. A snapshot of the source (export's REPEATABLE READ read, with counts and checksums).
 * 3. To its own database: the database is created and migrated, the rows written and read back
 *    against the snapshot's counts and checksums, in one transaction there.
 * 4. The source is summarized again: it must still match the snapshot (nothing was written
 *    meanwhile), else the move is undone.
 * 5. The switch, in one transaction of the control database: the rows the tenant left deleted (or,
 *    back to the shared database, written and verified there), its record `ready` (or `dropping`)
 *    and its former status. Then a database it left is dropped.
 *
 * Stopped before the switch, nothing changed for the tenant but `moving`: `boards tenant cleanup`
 * (or any failure here) undoes the move.
 */
export async function moveTenant(
  control: DataSource,
  databases: TenantDatabases,
  tenant: { id: string; slug: string },
  options: MoveOptions,
  progress: (message: string) => void,
): Promise<MoveResult> {
  const { direction } = options;
  const previous = await databases.beginMove(tenant.id, direction, options.location);
  progress(`tenant ${tenant.slug} is read-only (moving, was ${previous})`);
  let ownDatabase: DataSource | undefined;
  let switched = false;
  try {
    await new Promise((resolve) => setTimeout(resolve, options.settleMs));
    if (direction === 'to-database') {
      progress('creating and migrating its database');
      await databases.createDatabase(tenant.id, previous);
      ownDatabase = await databases.openTenantOwner(tenant.id);
      const snapshot = await exportTenant(control, tenant.slug, progress);
      progress('copying');
      await inTransaction(ownDatabase, tenant.id, (manager) =>
        writeTenantRows(manager, tenant.id, snapshot, progress),
      );
      await assertUnchanged(control, tenant.id, snapshot);
      await databases.finishMove(tenant.id, direction, previous, async (manager) => {
        // Exactly the rows copied, or nothing: a row written meanwhile rolls the switch back.
        for (const table of DELETE_ORDER) {
          const [{ n }] = (await manager.query(
            `WITH gone AS (DELETE FROM ${table} WHERE tenant_id = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
            [tenant.id],
          )) as { n: number }[];
          if (n !== snapshot.counts[table]) {
            throw new Error(`${table} changed during the move; nothing was moved`);
          }
        }
        await manager.query('DELETE FROM tenant_usage WHERE tenant_id = $1', [tenant.id]);
      });
      switched = true;
      return { tenant: tenant.slug, direction, ...summary(snapshot) };
    }
    ownDatabase = await databases.openTenantOwner(tenant.id);
    const snapshot = await exportTenant(control, tenant.slug, progress, ownDatabase);
    progress('copying');
    const source = ownDatabase;
    await databases.finishMove(tenant.id, direction, previous, async (manager) => {
      await writeTenantRows(manager, tenant.id, snapshot, progress);
      await assertUnchanged(source, tenant.id, snapshot);
    });
    switched = true;
    await ownDatabase.destroy();
    ownDatabase = undefined;
    const { dropped, error } = await databases.dropDatabase(tenant.id);
    if (error)
      progress(`its former database was not dropped (boards tenant cleanup retries): ${error}`);
    return { tenant: tenant.slug, direction, ...summary(snapshot), dropped };
  } catch (err) {
    if (!switched) {
      await ownDatabase?.destroy().catch(() => undefined);
      ownDatabase = undefined;
      await databases.abandonMove(tenant.id).catch((undoError: unknown) => {
        progress(
          `the move could not be undone (boards tenant cleanup retries): ${(undoError as Error).message}`,
        );
      });
    }
    throw err;
  } finally {
    await ownDatabase?.destroy().catch(() => undefined);
  }
}

function summary(snapshot: TenantSnapshot): Pick<TenantSnapshot, 'counts' | 'checksums'> {
  return { counts: snapshot.counts, checksums: snapshot.checksums };
}

/** The source must hold exactly what was copied: a write that slipped in undoes the move. */
async function assertUnchanged(
  source: DataSource,
  tenantId: string,
  snapshot: TenantSnapshot,
): Promise<void> {
  const now = await tenantDataSummary(source, tenantId);
  for (const table of SNAPSHOT_TABLES) {
    if (now.checksums[table] !== snapshot.checksums[table]) {
      throw new Error(`${table} changed during the move; nothing was moved`);
    }
  }
}

async function inTransaction<T>(
  dataSource: DataSource,
  tenantId: string,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    return work(manager);
  });
}
