import type { DataSource } from 'typeorm';
import { TenantDataSources, type TenantDataSourcesOptions } from './tenant-data-sources';

/** Where one tenant transaction runs: a data source, lent until `release`. */
export interface TenantRoute {
  readonly dataSource: DataSource;
  release(): void;
}

/**
 * Thrown by a router's `urlOf` for a tenant without a database of its own: it lives in the shared
 * (control) database.
 */
export class TenantInShared extends Error {
  constructor(readonly slug: string) {
    super(`tenant ${slug} lives in the shared database`);
    this.name = 'TenantInShared';
  }
}

/**
 * Told when a tenant data source opens (before its first use: a watcher takes its position in
 * the tenant's change logs there) and after it has closed.
 */
export interface TenantSourceWatcher {
  opened(tenantId: string, dataSource: DataSource): Promise<void>;
  /** `dataSource` is the one that closed (a newer one of the same tenant may be open already). */
  closed(tenantId: string, dataSource: DataSource): void;
}

/**
 * Chooses the data source of a tenant's transactions. Absent (shared isolation), every tenant's
 * transactions run on the one runtime data source, filtered by tenant_id and row-level security.
 */
export abstract class TenantRouter {
  abstract route(tenantId: string): Promise<TenantRoute>;
  /** Closes what the router opened. */
  abstract close(): Promise<void>;
  /** Stops routing to the tenant's current data source (its database moved or was dropped). */
  abstract forget(tenantId: string): Promise<void>;
  /** The same, by slug (the registry's change log names tenants by slug). */
  abstract forgetSlug(slug: string): Promise<void>;
  /** The same for every tenant (the registry changed too much to tell which). */
  abstract forgetAll(): Promise<void>;
  /** Tenant data sources open now, the connections they may hold, and the budget. */
  abstract get usage(): { open: number; connections: number; budget: number };
  /** Registers a watcher of data sources opening and closing. */
  abstract watch(watcher: TenantSourceWatcher): void;
  /** The data sources open now, each lent until `release` without counting as a use. */
  abstract openRoutes(): (TenantRoute & { readonly tenantId: string })[];
}

/**
 * BOARDS_TENANT_ISOLATION=database: each tenant's transactions run on its own database, through
 * TenantDataSources (bounded, lazily opened, within one connection budget). `urlOf` names the
 * tenant's database (its recorded URL, or the template filled for it) as the runtime role, and
 * `open` builds the data source (the runtime role's settings, the ORM isolation subscriber): the
 * same isolation layers as the shared database, in a database of its own.
 */
export class DatabaseTenantRouter extends TenantRouter {
  readonly sources: TenantDataSources;
  private readonly budget: number;
  private readonly watchers: TenantSourceWatcher[] = [];
  /** Tenants found to live in the shared (control) database, by id, with their slugs. */
  private readonly sharedTenants = new Map<string, string>();
  /** The slugs of the tenants routed so far (forgetSlug), by slug. */
  private readonly ids = new Map<string, string>();

  /**
   * `urlOf` names the tenant's database, or answers `shared` for a tenant that has none of its own
   * and lives in `shared` (the control database, filtered by tenant_id and row-level security
   * like any shared layout; a tenant not yet moved to a database of its own).
   */
  constructor(
    options: Omit<TenantDataSourcesOptions, 'open'>,
    private readonly urlOf: (tenantId: string) => Promise<string | TenantInShared>,
    open: (url: string, poolSize: number, tenantId: string) => Promise<DataSource>,
    private readonly shared?: DataSource,
  ) {
    super();
    this.budget = options.connectionBudget;
    this.sources = new TenantDataSources({
      ...options,
      open: async (tenantId, poolSize) => {
        const place = await this.urlOf(tenantId);
        if (typeof place !== 'string') throw place;
        const dataSource = await open(place, poolSize, tenantId);
        try {
          for (const watcher of this.watchers) await watcher.opened(tenantId, dataSource);
        } catch (err) {
          await dataSource.destroy().catch(() => undefined);
          throw err;
        }
        return dataSource;
      },
      closed: (tenantId, dataSource) => {
        for (const watcher of this.watchers) watcher.closed(tenantId, dataSource);
      },
    });
  }

  watch(watcher: TenantSourceWatcher): void {
    this.watchers.push(watcher);
  }

  openRoutes(): (TenantRoute & { readonly tenantId: string })[] {
    return this.sources
      .openLeases()
      .map(({ key, dataSource, release }) => ({ tenantId: key, dataSource, release }));
  }

  /** Closes the tenant's data source once its work is done (its database moved or dropped). */
  forget(tenantId: string): Promise<void> {
    const slug = this.sharedTenants.get(tenantId);
    this.sharedTenants.delete(tenantId);
    if (slug !== undefined) this.ids.delete(slug);
    return this.sources.evict(tenantId);
  }

  async forgetAll(): Promise<void> {
    const tenants = new Set([...this.ids.values(), ...this.sharedTenants.keys()]);
    this.sharedTenants.clear();
    this.ids.clear();
    for (const tenantId of tenants) void this.sources.evict(tenantId);
    return Promise.resolve();
  }

  /** Remembers the slug of a tenant whose database opened (forgetSlug finds it by slug). */
  remember(tenantId: string, slug: string): void {
    this.ids.set(slug, tenantId);
  }

  get usage(): { open: number; connections: number; budget: number } {
    const { open, reservedConnections } = this.sources.usage;
    return { open, connections: reservedConnections, budget: this.budget };
  }

  async route(tenantId: string): Promise<TenantRoute> {
    if (this.shared && this.sharedTenants.has(tenantId)) return this.sharedRoute(this.shared);
    try {
      return await this.sources.lease(tenantId);
    } catch (err) {
      if (!(err instanceof TenantInShared) || !this.shared) throw err;
      this.sharedTenants.set(tenantId, err.slug);
      this.ids.set(err.slug, tenantId);
      return this.sharedRoute(this.shared);
    }
  }

  private sharedRoute(dataSource: DataSource): TenantRoute {
    return { dataSource, release: () => undefined };
  }

  /** No new lease gets the tenant's current place; its data source closes once returned. */
  async forgetSlug(slug: string): Promise<void> {
    const tenantId = this.ids.get(slug);
    if (tenantId !== undefined) void this.forget(tenantId);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.sources.close();
  }
}
