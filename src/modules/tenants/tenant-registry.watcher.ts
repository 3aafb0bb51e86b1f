import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { TenantCache } from 'src/core/cache/tenant-cache';

/**
 * The registry's fingerprint, read once a second: count and max(updated_at) of `tenants` change
 * with every insert, update (updated_at) and delete; count and max(id) of `user_changes` (filled
 * by triggers on `users`, pruned after an hour) move with every user updated or deleted.
 */
export const REGISTRY_FINGERPRINT_SQL =
  'SELECT count(*)::int AS tenants, max(updated_at) AS changed, ' +
  "(SELECT count(*) || ':' || coalesce(max(id), 0) FROM user_changes) AS user_changes FROM tenants";

/** The user-change log from a position on: digests of the changed users' cache keys. */
export const USER_CHANGES_SQL =
  'SELECT id, user_key FROM user_changes WHERE id > $1 ORDER BY id LIMIT $2';

/** More new user changes than this in one check drop every cached user instead. */
export const USER_CHANGES_BATCH = 1_000;

/**
 * Log ids are taken at insert and become visible at commit, so a slow transaction can surface an
 * id below one already read: each read starts this many ids back and skips the ids it has seen.
 */
const USER_CHANGES_LOOKBACK = 256;

/** How often a serving process checks the tenant registry for changes. */
export const REGISTRY_POLL_INTERVAL_MS = 1_000;

/**
 * Keeps the in-process tenant and user caches honest across processes. Once a second a serving
 * process reads a fingerprint of the registry (`count(*)` and `max(updated_at)` of `tenants`, and
 * the newest entry of the `user_changes` log; index scans only) and:
 * - when the tenants changed — a tenant created, renamed, suspended, approved or deleted by
 *   another replica, a worker or the CLI — drops the cached tenants (in process and in Redis);
 * - when users changed — a role or profile updated, a user deleted, by whatever means — reads the
 *   new log entries (digests of the users' cache keys) and drops exactly those users.
 * Such a change reaches every process within about a second, which lets cached tenants and users
 * live long (TENANT_CACHE_TTL_MS, USER_CACHE_TTL_MS) so that thousands of active tenants do not
 * each cost lookups every few seconds. CLI commands do not poll (no HTTP server).
 */
@Injectable()
export class TenantRegistryWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TenantRegistryWatcher');
  private timer: NodeJS.Timeout | undefined;
  private fingerprint: string | undefined;
  private userLog: string | undefined;
  /** The newest user_changes id applied, and the ids applied within the lookback window. */
  private userMax = 0;
  private seenUserChanges = new Set<number>();
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
    try {
      const [row] = (await this.dataSource.query(REGISTRY_FINGERPRINT_SQL)) as {
        tenants: number;
        changed: Date | null;
        user_changes: string;
      }[];
      const fingerprint = `${row.tenants}:${row.changed?.getTime() ?? ''}`;
      const changed = this.fingerprint !== undefined && fingerprint !== this.fingerprint;
      this.fingerprint = fingerprint;
      if (changed) await this.cache.forgetAllTenants();
      const latest = Number(row.user_changes.split(':')[1]);
      if (this.userLog === undefined) {
        // Nothing is cached yet: what the log already holds only needs to count as applied.
        if (latest > 0) {
          this.remember(await this.userChangesAfter(Math.max(0, latest - USER_CHANGES_LOOKBACK)));
        }
      } else if (row.user_changes !== this.userLog) {
        await this.forgetChangedUsers(latest);
      }
      this.userLog = row.user_changes;
      return changed;
    } catch (err) {
      // The database being away is the readiness probe's business; the TTL still bounds staleness.
      this.logger.debug(
        `registry check failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }

  /** Drops the users of log entries not applied yet; a flood of changes drops them all. */
  private async forgetChangedUsers(latest: number): Promise<void> {
    const rows = await this.userChangesAfter(Math.max(0, this.userMax - USER_CHANGES_LOOKBACK));
    const fresh = rows.filter((r) => !this.seenUserChanges.has(r.id));
    if (fresh.length > USER_CHANGES_BATCH) {
      await this.cache.forgetAllUsers();
      // Everything visible now is applied; the newest window counts as seen.
      this.seenUserChanges = new Set();
      this.userMax = Math.max(this.userMax, latest);
      this.remember(await this.userChangesAfter(Math.max(0, latest - USER_CHANGES_LOOKBACK)));
      return;
    }
    if (fresh.length > 0) await this.cache.forgetUsersByDigest(new Set(fresh.map((r) => r.key)));
    this.remember(fresh);
  }

  private async userChangesAfter(from: number): Promise<{ id: number; key: string }[]> {
    const rows = (await this.dataSource.query(USER_CHANGES_SQL, [
      from,
      USER_CHANGES_LOOKBACK + USER_CHANGES_BATCH + 1,
    ])) as { id: string; user_key: string }[];
    return rows.map((r) => ({ id: Number(r.id), key: r.user_key.trim() }));
  }

  /** Counts `applied` entries as done; keeps the ids of the lookback window only. */
  private remember(applied: readonly { id: number }[]): void {
    for (const r of applied) this.userMax = Math.max(this.userMax, r.id);
    const floor = this.userMax - USER_CHANGES_LOOKBACK;
    const seen = new Set<number>();
    for (const id of this.seenUserChanges) if (id > floor) seen.add(id);
    for (const r of applied) if (r.id > floor) seen.add(r.id);
    this.seenUserChanges = seen;
  }
}
