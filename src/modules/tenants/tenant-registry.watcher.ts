import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { TenantCache } from 'src/core/cache/tenant-cache';

/** The tenant registry's fingerprint: changes with every insert, update (updated_at) and delete. */
export const REGISTRY_FINGERPRINT_SQL =
  'SELECT count(*)::int AS tenants, max(updated_at) AS changed FROM tenants';

/**
 * The user-change log from transaction `$1` on (at most `$2` entries), with the oldest
 * transaction still running in the same snapshot (`xmin`): every entry that was not visible to
 * this read belongs to a transaction at or after that xmin, so the next read starts there. One row
 * with null entry columns when there is nothing.
 */
export const USER_CHANGES_SQL =
  'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, ' +
  'c.id::text AS id, c.xact::text AS xact, c.user_key FROM (SELECT 1) AS one LEFT JOIN LATERAL ' +
  '(SELECT id, xact, user_key FROM user_changes WHERE xact >= $1::xid8 ORDER BY id LIMIT $2) AS c ON true';

/** More new user changes than this in one check drop every cached user instead. */
export const USER_CHANGES_BATCH = 1_000;

/** The log entry of a TRUNCATE of users: every user changed. */
const EVERY_USER = '*'.repeat(64);

/** How often a serving process checks the tenant registry for changes. */
export const REGISTRY_POLL_INTERVAL_MS = 1_000;

/**
 * Keeps the in-process tenant and user caches honest across processes. Once a second a serving
 * process
 * - reads a fingerprint of the tenant registry (`count(*)` and `max(updated_at)` of `tenants`) and,
 *   when it changed — a tenant created, renamed, suspended, approved or deleted by another
 *   replica, a worker or the CLI — drops the cached tenants (in process and in Redis);
 * - reads the entries of the `user_changes` log (filled by triggers on `users`) that it has not
 *   seen — a role or profile updated, a user deleted, by whatever means — and drops exactly those
 *   users (in process and in Redis). Entries are found by transaction id, from the oldest
 *   transaction that was still running at the previous read, so one that commits late is not
 *   missed; an index range that is empty when nothing changed.
 * Such a change reaches every process within about a second, which lets cached tenants and users
 * live long (TENANT_CACHE_TTL_MS, USER_CACHE_TTL_MS) so that thousands of active tenants do not
 * each cost lookups every few seconds. CLI commands do not poll (no HTTP server).
 */
@Injectable()
export class TenantRegistryWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TenantRegistryWatcher');
  private timer: NodeJS.Timeout | undefined;
  private fingerprint: string | undefined;
  /** Where the next read of the user-change log starts (a transaction id); unset before the first. */
  private userXmin: string | undefined;
  /** Entries already applied whose transaction is at or after userXmin: id → transaction. */
  private seenUserChanges = new Map<string, bigint>();
  /** A read of the log failed before the first one succeeded (users may be cached meanwhile). */
  private userLogMissed = false;
  private lastWarning = 0;
  private inFlight: Promise<boolean> | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly dataSource: DataSource,
    private readonly cache: TenantCache,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return;
    // The reference fingerprint is taken before the first request can fill the cache.
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
   * Resolves to true when the cache was dropped.
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
      const [row] = (await this.dataSource.query(REGISTRY_FINGERPRINT_SQL)) as {
        tenants: number;
        changed: Date | null;
      }[];
      const fingerprint = `${row.tenants}:${row.changed?.getTime() ?? ''}`;
      const changed = this.fingerprint !== undefined && fingerprint !== this.fingerprint;
      this.fingerprint = fingerprint;
      if (changed) await this.cache.forgetAllTenants();
      return { read: true, changed };
    } catch (err) {
      this.failed('tenant registry', err);
      return { read: false, changed: false };
    }
  }

  /**
   * Applies the user-change log entries not seen yet. A failed read changes nothing, so the next
   * one covers the same ground; until the first read succeeds no position is known, and users
   * cached meanwhile are all dropped once it does.
   */
  private async checkUsers(): Promise<boolean> {
    try {
      const rows = (await this.dataSource.query(USER_CHANGES_SQL, [
        this.userXmin ?? null,
        USER_CHANGES_BATCH + 1 + this.seenUserChanges.size,
      ])) as { xmin: string; id: string | null; xact: string | null; user_key: string | null }[];
      const fresh = rows.filter(
        (r): r is { xmin: string; id: string; xact: string; user_key: string } =>
          r.id !== null && !this.seenUserChanges.has(r.id),
      );
      if (this.userXmin === undefined) {
        if (this.userLogMissed) await this.cache.forgetAllUsers();
      } else if (
        fresh.length > USER_CHANGES_BATCH ||
        fresh.some((r) => r.user_key.trim() === EVERY_USER)
      ) {
        await this.cache.forgetAllUsers();
      } else if (fresh.length > 0) {
        await this.cache.forgetUsersByDigest(new Set(fresh.map((r) => r.user_key.trim())));
      }
      const xmin = BigInt(rows[0].xmin);
      for (const r of fresh) this.seenUserChanges.set(r.id, BigInt(r.xact));
      for (const [id, xact] of this.seenUserChanges) {
        if (xact < xmin) this.seenUserChanges.delete(id);
      }
      this.userXmin = rows[0].xmin;
      return true;
    } catch (err) {
      if (this.userXmin === undefined) this.userLogMissed = true;
      this.failed('user-change log', err);
      return false;
    }
  }

  /** The database being away is the readiness probe's business; a missing table is not. */
  private failed(what: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (/does not exist/.test(message) && now - this.lastWarning > 60_000) {
      this.lastWarning = now;
      this.logger.warn(`cannot read the ${what} (migrations pending?): ${message}`);
    } else {
      this.logger.debug(`${what} check failed: ${message}`);
    }
  }
}
