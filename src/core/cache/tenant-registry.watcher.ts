import {
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { TenantCache } from 'src/core/cache/tenant-cache';
import { TenantRouter } from 'src/core/database/tenant-router';

/**
 * A change log's entries from transaction `$1` on (at most `$2` entries), with the oldest
 * transaction still running in the same snapshot (`xmin`): every entry that was not visible to
 * this read belongs to a transaction at or after that xmin, so the next read starts there. One row
 * with null entry columns when there is nothing.
 */
function changeLogSql(table: string, keyColumn: string): string {
  return (
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, ' +
    `c.id::text AS id, c.xact::text AS xact, c.${keyColumn} AS key FROM (SELECT 1) AS one LEFT JOIN LATERAL ` +
    `(SELECT id, xact, ${keyColumn} FROM ${table} WHERE xact >= $1::xid8 ORDER BY id LIMIT $2) AS c ON true`
  );
}

/** The user-change log (filled by triggers on `users`): the SHA-256 of each changed user's cache key. */
export const USER_CHANGES_SQL = changeLogSql('user_changes', 'user_key');
/** The tenant-change log (filled by triggers on `tenants`): the slug of each changed tenant. */
export const TENANT_CHANGES_SQL = changeLogSql('tenant_changes', 'slug');

/** More new entries than this in one check drop every cached user (tenant) instead. */
export const USER_CHANGES_BATCH = 1_000;
export const TENANT_CHANGES_BATCH = 1_000;

/** The log entry of a TRUNCATE of users: every user changed. */
const EVERY_USER = '*'.repeat(64);
/** The log entry of a TRUNCATE of tenants. */
const EVERY_TENANT = '*';

/**
 * How often a serving process reads the change logs: two index range scans that find nothing
 * most of the time, so a change reaches every replica well within a second.
 */
export const REGISTRY_POLL_INTERVAL_MS = 500;

type Changes = { kind: 'none' } | { kind: 'some'; keys: Set<string> } | { kind: 'all' };

/**
 * Reads one change log in transaction order. Entries are found by transaction id, from the oldest
 * transaction that was still running at the previous read, so an entry whose transaction commits
 * after newer ones (a suspension that took a while) is still found; entries already applied are
 * remembered until their transaction falls below that horizon, so each is applied once. A failed
 * read changes nothing, so the next one covers the same ground; until the first read succeeds no
 * position is known, and everything cached meanwhile counts as changed once it does.
 */
class ChangeLogCursor {
  /** Where the next read starts (a transaction id); unset before the first successful read. */
  private xmin: string | undefined;
  /** Entries already applied whose transaction is at or after xmin: id → transaction. */
  private readonly seen = new Map<string, bigint>();
  /** A read failed before the first one succeeded (things may be cached meanwhile). */
  private missed = false;

  constructor(
    private readonly sql: string,
    private readonly batch: number,
    private readonly everything: string,
  ) {}

  async read(dataSource: DataSource): Promise<Changes> {
    let rows: { xmin: string; id: string | null; xact: string | null; key: string | null }[];
    try {
      rows = (await dataSource.query(this.sql, [
        this.xmin ?? null,
        this.batch + 1 + this.seen.size,
      ])) as typeof rows;
    } catch (err) {
      if (this.xmin === undefined) this.missed = true;
      throw err;
    }
    const fresh = rows.filter(
      (r): r is { xmin: string; id: string; xact: string; key: string } =>
        r.id !== null && !this.seen.has(r.id),
    );
    let changes: Changes = { kind: 'none' };
    if (this.xmin === undefined) {
      if (this.missed) changes = { kind: 'all' };
    } else if (fresh.length > this.batch || fresh.some((r) => r.key.trim() === this.everything)) {
      changes = { kind: 'all' };
    } else if (fresh.length > 0) {
      changes = { kind: 'some', keys: new Set(fresh.map((r) => r.key.trim())) };
    }
    const xmin = BigInt(rows[0].xmin);
    for (const r of fresh) this.seen.set(r.id, BigInt(r.xact));
    for (const [id, xact] of this.seen) {
      if (xact < xmin) this.seen.delete(id);
    }
    this.xmin = rows[0].xmin;
    return changes;
  }
}

/**
 * Keeps the in-process tenant and user caches honest across processes. A serving process reads (every REGISTRY_POLL_INTERVAL_MS) the new entries of two change logs, both filled by triggers whatever made the
 * change (another replica, a worker, the CLI, plain SQL):
 * - `tenant_changes`: a tenant created, renamed, suspended, approved, bound to issuers or deleted;
 *   it drops those tenants (by slug) in process and in Redis;
 * - `user_changes`: a role, membership or profile changed, a user removed; it drops exactly those
 *   users in process and in Redis.
 * Both are read by transaction order, not by timestamps, so a change that commits after a later
 * one is never missed. Such a change reaches every process within about a second, which lets
 * cached tenants and users live long (TENANT_CACHE_TTL_MS, USER_CACHE_TTL_MS) so that thousands
 * of active tenants do not each cost lookups every few seconds. CLI commands do not poll (no HTTP
 * server).
 */
@Injectable()
export class TenantRegistryWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TenantRegistryWatcher');
  private timer: NodeJS.Timeout | undefined;
  private readonly tenantLog = new ChangeLogCursor(
    TENANT_CHANGES_SQL,
    TENANT_CHANGES_BATCH,
    EVERY_TENANT,
  );
  private readonly userLog = new ChangeLogCursor(USER_CHANGES_SQL, USER_CHANGES_BATCH, EVERY_USER);
  /**
   * With a database per tenant, users live in the tenants' databases: the user-change log of each
   * tenant database this process has open, from the moment it opened (before its first use).
   */
  private readonly tenantUserLogs = new Map<DataSource, ChangeLogCursor>();
  private lastWarning = 0;
  private inFlight: Promise<boolean> | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly dataSource: DataSource,
    private readonly cache: TenantCache,
    @Optional() private readonly router?: TenantRouter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return;
    this.router?.watch({
      // Keyed by data source: a tenant's old data source may finish closing after its new one
      // opened, and must not take the new one's cursor with it.
      opened: async (_tenantId, dataSource) => {
        const cursor = new ChangeLogCursor(USER_CHANGES_SQL, USER_CHANGES_BATCH, EVERY_USER);
        this.tenantUserLogs.set(dataSource, cursor);
        // The position is taken before the first user of this tenant is read here; a failed read
        // counts every user of the tenant as changed at the next successful one.
        await cursor.read(dataSource).catch((err: unknown) => this.failed('user-change log', err));
      },
      closed: (tenantId, dataSource) => {
        this.tenantUserLogs.delete(dataSource);
        // Nobody here reads this tenant's log any more: its users are not kept here either.
        void this.cache.forgetTenantUsers(tenantId, false);
      },
    });
    // The reference position is taken before the first request can fill the cache.
    await this.poll();
    this.timer = setInterval(() => void this.poll(), REGISTRY_POLL_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One check (public for tests). A call while a check is running waits for that check, so two
   * awaited calls in a row guarantee one complete check that started after the first returned.
   * Resolves to true when cached tenants were dropped.
   */
  poll(): Promise<boolean> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async check(): Promise<boolean> {
    const startedAt = Date.now();
    const tenants = await this.checkTenants();
    const usersRead = await this.checkUsers();
    // Both reads succeeded: every change committed before startedAt is applied (TenantCache
    // renews entries in use while such confirmations keep coming).
    if (tenants.read && usersRead) this.cache.confirmFresh(startedAt);
    return tenants.changed;
  }

  private async checkTenants(): Promise<{ read: boolean; changed: boolean }> {
    try {
      const changes = await this.tenantLog.read(this.dataSource);
      // Where a tenant's data is (a database of its own or the shared one) is looked up again
      // before the tenant itself: a tenant moved between them is never served from the old place.
      if (changes.kind === 'all') {
        await this.router?.forgetAll();
        await this.cache.forgetAllTenants();
      }
      if (changes.kind === 'some') {
        for (const slug of changes.keys) {
          await this.router?.forgetSlug(slug);
          await this.cache.forgetTenant(slug);
        }
      }
      return { read: true, changed: changes.kind !== 'none' };
    } catch (err) {
      this.failed('tenant-change log', err);
      return { read: false, changed: false };
    }
  }

  private async checkUsers(): Promise<boolean> {
    let read = true;
    try {
      const changes = await this.userLog.read(this.dataSource);
      if (changes.kind === 'all') await this.cache.forgetAllUsers();
      if (changes.kind === 'some') await this.cache.forgetUsersByDigest(changes.keys);
    } catch (err) {
      this.failed('user-change log', err);
      read = false;
    }
    if (this.router) read = (await this.checkTenantUsers(this.router)) && read;
    return read;
  }

  /** Each open tenant database's user-change log (a database per tenant). */
  private async checkTenantUsers(router: TenantRouter): Promise<boolean> {
    let read = true;
    for (const route of router.openRoutes()) {
      try {
        let cursor = this.tenantUserLogs.get(route.dataSource);
        if (!cursor) {
          // Never the case for a data source opened through the router; if it were, its users
          // would go unwatched: they are dropped, and the log is read from now on.
          cursor = new ChangeLogCursor(USER_CHANGES_SQL, USER_CHANGES_BATCH, EVERY_USER);
          this.tenantUserLogs.set(route.dataSource, cursor);
          await this.cache.forgetTenantUsers(route.tenantId, true);
        }
        const changes = await cursor.read(route.dataSource);
        if (changes.kind === 'all') await this.cache.forgetTenantUsers(route.tenantId, true);
        if (changes.kind === 'some') await this.cache.forgetUsersByDigest(changes.keys);
      } catch (err) {
        this.failed('user-change log', err);
        read = false;
      } finally {
        route.release();
      }
    }
    return read;
  }

  /** The database being away is the readiness probe's business; a missing table is not. */
  private failed(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    const undefinedTable = (err as { code?: unknown } | undefined)?.code === '42P01';
    if (undefinedTable && now - this.lastWarning > 60_000) {
      this.lastWarning = now;
      this.logger.warn(`cannot read the ${what} (migrations pending?): ${message}`);
    } else {
      this.logger.debug(`${what} check failed: ${message}`);
    }
  }
}
