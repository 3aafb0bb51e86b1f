import { Module } from '@nestjs/common';
import { DefaultTenantBootstrap } from './default-tenant.bootstrap';
import { TenantsRepository } from './tenants.repository';

@Module({
  providers: [TenantsRepository, DefaultTenantBootstrap],
  exports: [TenantsRepository],
})
export class TenantsModule {}
