import type { DataSource } from 'typeorm';
import { TenantDataSources, type TenantDataSourcesOptions } from './tenant-data-sources';

/** Where one tenant transaction runs: a data source, lent until `release`. */
export interface TenantRoute {
  readonly dataSource: DataSource;
  release(): void;
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

  constructor(
    options: Omit<TenantDataSourcesOptions, 'open'>,
    private readonly urlOf: (tenantId: string) => Promise<string>,
    open: (url: string, poolSize: number, tenantId: string) => Promise<DataSource>,
  ) {
    super();
    this.budget = options.connectionBudget;
    this.sources = new TenantDataSources({
      ...options,
      open: async (tenantId, poolSize) => open(await this.urlOf(tenantId), poolSize, tenantId),
    });
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
