import type { DataSource } from 'typeorm';
import { TenantDataSources, type TenantDataSourcesOptions } from './tenant-data-sources';

/** Where one tenant transaction runs: a data source, lent until `release`. */
export interface TenantRoute {
  readonly dataSource: DataSource;
  release(): void;
}

/**
 * Told when a tenant data source opens (before its first use: a watcher takes its position in
 * the tenant's change logs there) and after it has closed.
 */
export interface TenantSourceWatcher {
  opened(tenantId: string, dataSource: DataSource): Promise<void>;
  closed(tenantId: string): void;
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

  constructor(
    options: Omit<TenantDataSourcesOptions, 'open'>,
    private readonly urlOf: (tenantId: string) => Promise<string>,
    open: (url: string, poolSize: number, tenantId: string) => Promise<DataSource>,
  ) {
    super();
    this.budget = options.connectionBudget;
    this.sources = new TenantDataSources({
      ...options,
      open: async (tenantId, poolSize) => {
        const dataSource = await open(await this.urlOf(tenantId), poolSize, tenantId);
        try {
          for (const watcher of this.watchers) await watcher.opened(tenantId, dataSource);
        } catch (err) {
          await dataSource.destroy().catch(() => undefined);
          throw err;
        }
        return dataSource;
      },
      closed: (tenantId) => {
        for (const watcher of this.watchers) watcher.closed(tenantId);
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
    return this.sources.evict(tenantId);
  }

  get usage(): { open: number; connections: number; budget: number } {
    const { open, reservedConnections } = this.sources.usage;
    return { open, connections: reservedConnections, budget: this.budget };
  }

  async route(tenantId: string): Promise<TenantRoute> {
    return this.sources.lease(tenantId);
  }

  close(): Promise<void> {
    return this.sources.close();
  }
}
