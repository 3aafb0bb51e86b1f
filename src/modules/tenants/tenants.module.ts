import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { DefaultTenantBootstrap } from './default-tenant.bootstrap';
import { InvitationsRepository } from './invitations.repository';
import { MemberRemovalHooks } from './member-removal.hooks';
import { MembersRepository } from './members.repository';
import { MembershipService } from './membership.service';
import { SetupMembershipController } from './setup-membership.controller';
import { TenantDomainsRepository } from './tenant-domains.repository';
import { TenantUsageController } from './tenant-usage.controller';
import { TenantMembershipController } from './tenant-membership.controller';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';
import { SetupController } from './setup.controller';
import { TenantAdminService } from './tenant-admin.service';
import { TenantSeeder } from './tenant-seeder.service';
import { TenantRegistryWatcher } from './tenant-registry.watcher';
import { TenantsRepository } from './tenants.repository';

@Module({
  controllers: [
    SetupController,
    SetupMembershipController,
    TenantMembershipController,
    TenantUsageController,
    RegistrationController,
    AuditController,
  ],
  providers: [
    InvitationsRepository,
    TenantDomainsRepository,
    MembersRepository,
    MemberRemovalHooks,
    MembershipService,
    TenantsRepository,
    DefaultTenantBootstrap,
    AuditRepository,
    AuditService,
    TenantSeeder,
    TenantAdminService,
    RegistrationService,
    TenantRegistryWatcher,
  ],
  exports: [
    TenantsRepository,
    AuditService,
    InvitationsRepository,
    TenantDomainsRepository,
    MemberRemovalHooks,
  ],
})
export class TenantsModule {}
