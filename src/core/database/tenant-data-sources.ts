import type { DataSource } from 'typeorm';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

export interface TenantDataSourcesOptions {
  /** Most tenant data sources open at once (BOARDS_TENANT_DATASOURCE_CACHE_SIZE). */
  readonly cacheSize: number;
  /** Most connections all of them may hold at once (BOARDS_TENANT_CONNECTION_BUDGET). */
  readonly connectionBudget: number;
  /** A data source unused this long is closed. */
  readonly idleMs: number;
  /** How long a request waits for room (a data source to free up) before it fails. */
  readonly waitMs: number;
  /** Opens (initializes) the data source of `key` with a pool of at most `poolSize` connections. */
  readonly open: (key: string, poolSize: number) => Promise<DataSource>;
  /** Called once a data source of `key` has closed (idle, evicted, or at close()). */
  readonly closed?: (key: string, dataSource: DataSource) => void;
  readonly now?: () => number;
}

/**
 * Every tenant data source is in use and the budget has no room for another: 503 with
 * Retry-After (the client retries soon; nothing is wrong with its request).
 */
export class TenantDataSourcesBusyError extends DomainError<ErrorCode.ServiceUnavailable> {
  constructor(readonly retryAfterSeconds: number) {
    super(
      ErrorCode.ServiceUnavailable,
      'service_unavailable',
      'every tenant database connection of this process is in use',
      {},
      { 'Retry-After': String(retryAfterSeconds) },
    );
    this.name = 'TenantDataSourcesBusyError';
  }
}

/** A data source lent to one unit of work; `release` exactly once when done. */
export interface TenantDataSourceLease {
  readonly dataSource: DataSource;
  release(): void;
}

interface Entry {
  readonly key: string;
  /** `closing`: out of `entries`, in `draining` until its pool has closed. */
  state: 'opening' | 'open' | 'closing';
  opened: Promise<DataSource>;
  dataSource: DataSource | undefined;
  leases: number;
  lastUsed: number;
}

/**
 * The data sources of tenant databases (BOARDS_TENANT_ISOLATION=database): opened on first use,
 * kept in a bounded LRU, each with a small pool, all within one connection budget per process.
 *
 * - Each pool has `connectionBudget / cacheSize` connections (at least one), and a data source
 *   counts against the budget from the moment it starts opening until it has closed (a closing one
 *   waits in `draining`, still counted, while its key may already open a fresh one), so the
 *   connections this process holds never exceed the budget: a thousand tenants cannot exhaust the
 *   server's max_connections.
 * - A data source is lent per unit of work (`lease`, `use`); one in use is never closed. When the
 *   cache is full, the least recently used idle one is closed to make room; when all are in use,
 *   the request waits up to `waitMs` for one to become idle, then fails with
 *   TenantDataSourcesBusyError (503 with Retry-After).
 * - Idle data sources close after `idleMs`.
 */
export class TenantDataSources {
  /** Insertion order is recency: a lease moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  /** Data sources closing: no new lease, their connections still counted until closed. */
  private readonly draining = new Set<Entry>();
  private readonly waiters = new Set<() => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private closed = false;
  readonly poolSize: number;

  constructor(private readonly options: TenantDataSourcesOptions) {
    if (options.cacheSize < 1 || options.connectionBudget < 1) {
      throw new RangeError('cacheSize and connectionBudget must be at least 1');
    }
    this.poolSize = Math.max(1, Math.floor(options.connectionBudget / options.cacheSize));
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.closeIdle(), Math.max(50, options.idleMs / 2));
    this.timer.unref();
  }

  /** Runs `work` with the data source of `key`, which stays open (and lent) until it settles. */
  async use<T>(key: string, work: (dataSource: DataSource) => Promise<T>): Promise<T> {
    const lease = await this.lease(key);
    try {
      return await work(lease.dataSource);
    } finally {
      lease.release();
    }
  }

  async lease(key: string): Promise<TenantDataSourceLease> {
    const deadline = this.now() + this.options.waitMs;
    for (;;) {
      if (this.closed) throw new Error('the tenant data sources are closed');
      const entry = this.entries.get(key);
      if (entry) return this.lend(entry);
      if (this.makeRoom()) return this.lend(this.startOpening(key));
      const left = deadline - this.now();
      if (left <= 0) throw new TenantDataSourcesBusyError(1);
      await this.waitForChange(left);
    }
  }

  /**
   * The data sources open now, each lent (until `release`) without counting as a use: a check
   * that runs on every open data source (the change-log watcher) does not keep them from
   * closing when idle, nor change their order.
   */
  openLeases(): { key: string; dataSource: DataSource; release(): void }[] {
    const leases: { key: string; dataSource: DataSource; release(): void }[] = [];
    for (const entry of this.entries.values()) {
      const dataSource = entry.dataSource;
      if (entry.state !== 'open' || !dataSource) continue;
      entry.leases++;
      let released = false;
      leases.push({
        key: entry.key,
        dataSource,
        release: () => {
          if (released) return;
          released = true;
          entry.leases--;
          if (entry.leases === 0) this.wake();
        },
      });
    }
    return leases;
  }

  /** Open, opening and closing data sources, and the connections they may hold. */
  get usage(): { open: number; leases: number; reservedConnections: number } {
    let leases = 0;
    for (const entry of this.entries.values()) leases += entry.leases;
    for (const entry of this.draining) leases += entry.leases;
    return {
      open: this.entries.size,
      leases,
      reservedConnections: (this.entries.size + this.draining.size) * this.poolSize,
    };
  }

  /** Whether `key` has a data source open (or opening) now. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Takes the data source of `key` out of use (a tenant deleted or moved): no new lease gets it
   * (the next request for `key` opens a fresh one), and it closes once its leases are returned.
   */
  async evict(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) await this.closeEntry(entry);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.entries.values()].map((entry) => this.closeEntry(entry)));
    await Promise.all([...this.draining].map((entry) => this.drained(entry)));
    this.wake();
  }

  private async lend(entry: Entry): Promise<TenantDataSourceLease> {
    entry.leases++;
    entry.lastUsed = this.now();
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    let dataSource: DataSource;
    try {
      dataSource = await entry.opened;
    } catch (err) {
      this.returnLease(entry);
      throw err;
    }
    let released = false;
    return {
      dataSource,
      release: () => {
        if (released) return;
        released = true;
        this.returnLease(entry);
      },
    };
  }

  private returnLease(entry: Entry): void {
    entry.leases--;
    entry.lastUsed = this.now();
    if (entry.leases === 0) this.wake();
  }

  /**
   * Whether one more data source fits: under the cache size and the budget, after starting to
   * close the least recently used idle one if needed (its connections count until it has closed).
   */
  private makeRoom(): boolean {
    const fits = () =>
      this.entries.size < this.options.cacheSize &&
      (this.entries.size + this.draining.size + 1) * this.poolSize <=
        Math.max(this.options.connectionBudget, this.poolSize);
    if (fits()) return true;
    for (const entry of this.entries.values()) {
      if (entry.state === 'open' && entry.leases === 0) {
        void this.closeEntry(entry);
        return fits();
      }
    }
    return false;
  }

  private startOpening(key: string): Entry {
    const entry: Entry = {
      key,
      state: 'opening',
      opened: this.options.open(key, this.poolSize),
      dataSource: undefined,
      leases: 0,
      lastUsed: this.now(),
    };
    this.entries.set(key, entry);
    entry.opened.then(
      (dataSource) => {
        entry.dataSource = dataSource;
        if (entry.state === 'opening') entry.state = 'open';
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        this.draining.delete(entry);
        this.wake();
      },
    );
    return entry;
  }

  /** Moves `entry` to `draining` at once (no new lease), and closes it when its leases are back. */
  private async closeEntry(entry: Entry): Promise<void> {
    if (entry.state === 'closing') return this.drained(entry);
    entry.state = 'closing';
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    this.draining.add(entry);
    this.wake();
    await this.drained(entry);
  }

  private async drained(entry: Entry): Promise<void> {
    while (entry.leases > 0) await this.waitForChange(1_000);
    let dataSource: DataSource | undefined;
    try {
      dataSource = await entry.opened;
      if (dataSource.isInitialized) await dataSource.destroy();
    } catch {
      // A data source that failed to open, or to close, holds no connection any more.
    } finally {
      this.draining.delete(entry);
      if (dataSource) this.options.closed?.(entry.key, dataSource);
      this.wake();
    }
  }

  private closeIdle(): void {
    const cutoff = this.now() - this.options.idleMs;
    for (const entry of this.entries.values()) {
      if (entry.state === 'open' && entry.leases === 0 && entry.lastUsed <= cutoff) {
        void this.closeEntry(entry);
      }
    }
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        this.waiters.delete(done);
        resolve();
      };
      const timeout = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
