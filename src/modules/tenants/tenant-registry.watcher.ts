import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { TenantCache } from 'src/core/cache/tenant-cache';

/** The registry's fingerprint: changes with every insert, update (updated_at) and delete. */
export const REGISTRY_FINGERPRINT_SQL =
  'SELECT count(*)::int AS tenants, max(updated_at) AS changed FROM tenants';

/** How often a serving process checks the tenant registry for changes. */
export const REGISTRY_POLL_INTERVAL_MS = 1_000;

/**
 * Keeps the in-process tenant cache honest across processes: once a second a serving process
 * reads a fingerprint of the registry (`count(*)` and `max(updated_at)` of `tenants`, one index
 * scan) and, when it changed — a tenant created, renamed, suspended, approved or deleted by
 * another replica, a worker or the CLI — drops the cached tenants (in process and in Redis). Such a change reaches every
 * process within about a second, which lets cached tenants live long (TENANT_CACHE_TTL_MS) so
 * that thousands of active tenants do not each cost a lookup every few seconds. CLI commands do
 * not poll (no HTTP server).
 */
@Injectable()
export class TenantRegistryWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TenantRegistryWatcher');
  private timer: NodeJS.Timeout | undefined;
  private fingerprint: string | undefined;
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
      }[];
      const fingerprint = `${row.tenants}:${row.changed?.getTime() ?? ''}`;
      const changed = this.fingerprint !== undefined && fingerprint !== this.fingerprint;
      this.fingerprint = fingerprint;
      if (changed) await this.cache.forgetAllTenants();
      return changed;
    } catch (err) {
      // The database being away is the readiness probe's business; the TTL still bounds staleness.
      this.logger.debug(
        `registry check failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }
}
