import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { DefaultTenantBootstrap } from './default-tenant.bootstrap';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';
import { SetupController } from './setup.controller';
import { TenantAdminService } from './tenant-admin.service';
import { TenantSeeder } from './tenant-seeder.service';
import { TenantRegistryWatcher } from './tenant-registry.watcher';
import { TenantsRepository } from './tenants.repository';

@Module({
  controllers: [SetupController, RegistrationController, AuditController],
  providers: [
    TenantsRepository,
    DefaultTenantBootstrap,
    AuditRepository,
    AuditService,
    TenantSeeder,
    TenantAdminService,
    RegistrationService,
    TenantRegistryWatcher,
  ],
  exports: [TenantsRepository, AuditService],
})
export class TenantsModule {}
