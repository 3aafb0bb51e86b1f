import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { DefaultTenantBootstrap } from './default-tenant.bootstrap';
import { InvitationsRepository } from './invitations.repository';
import { MemberRemovalHooks } from './member-removal.hooks';
import { SampleDataHooks } from './sample-data.hooks';
import { MembersRepository } from './members.repository';
import { MembershipService } from './membership.service';
import { SetupMembershipController } from './setup-membership.controller';
import { TenantDomainsRepository } from './tenant-domains.repository';
import { TenantUsageController } from './tenant-usage.controller';
import { TenantUsageRepository } from './tenant-usage.repository';
import { TenantMembershipController } from './tenant-membership.controller';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';
import { SetupController } from './setup.controller';
import { TenantAdminService } from './tenant-admin.service';
import { TenantSeeder } from './tenant-seeder.service';
import { TenantsRepository } from './tenants.repository';

@Module({
  imports: [AuditModule],
  controllers: [
    SetupController,
    SetupMembershipController,
    TenantMembershipController,
    TenantUsageController,
    RegistrationController,
  ],
  providers: [
    InvitationsRepository,
    TenantDomainsRepository,
    MembersRepository,
    MemberRemovalHooks,
    SampleDataHooks,
    MembershipService,
    TenantsRepository,
    TenantUsageRepository,
    DefaultTenantBootstrap,
    TenantSeeder,
    TenantAdminService,
    RegistrationService,
  ],
  exports: [
    TenantsRepository,
    InvitationsRepository,
    TenantDomainsRepository,
    MemberRemovalHooks,
    SampleDataHooks,
  ],
})
export class TenantsModule {}
