import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import { TenantsRepository } from './tenants.repository';

/** In single-tenant mode, makes sure the default tenant exists before the server takes traffic. */
@Injectable()
export class DefaultTenantBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('DefaultTenant');

  constructor(
    private readonly config: BoardsConfig,
    private readonly tenants: TenantsRepository,
    private readonly databases: TenantDatabases,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.tenancy.multiTenantMode) return;
    const { defaultTenantName, defaultTenantSlug } = this.config.tenancy;
    // With a database per tenant, a new default tenant gets its own database (finished on the next
    // start if this one stopped half-way); one that existed before keeps its data in the control
    // database, where it lives until `boards tenant move`.
    const { id, created } = this.databases.enabled
      ? await this.databases.ensureDefaultTenant(defaultTenantName, defaultTenantSlug)
      : await this.tenants
          .ensure(defaultTenantName, defaultTenantSlug)
          .then(({ tenant, created }) => ({ id: tenant.id, created }));
    if (created) this.logger.log(`created default tenant "${defaultTenantSlug}" (${id})`);
  }
}
