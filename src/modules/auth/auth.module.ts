import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from 'src/modules/audit/audit.module';
import { TenantsModule } from 'src/modules/tenants/tenants.module';
import { AuthController } from './auth.controller';
import { AuthProviderChain } from './auth-provider.chain';
import { AuthStrategyRegistry } from './auth-strategies';
import { authStrategiesProvider } from './auth-strategies.provider';
import { AuthenticationGuard } from './authentication.guard';
import { TenantDirectory } from './tenant-directory';
import { TenantGuard } from './tenant.guard';
import { TenantResolver } from './tenant-resolver';
import { UserProvisioningService } from './user-provisioning.service';
import { UsersRepository } from './users.repository';

/**
 * Authentication and tenant resolution. Registers two global guards, in this order:
 * AuthenticationGuard (token → principal, through passport's strategies for BOARDS_AUTH_PROVIDER)
 * then TenantGuard (tenant + just-in-time user).
 * Lookups go through the global TenantCache (src/core/cache), which the tenant admin service
 * invalidates when a tenant changes.
 */
@Module({
  imports: [AuditModule, TenantsModule],
  controllers: [AuthController],
  providers: [
    AuthProviderChain,
    AuthStrategyRegistry,
    authStrategiesProvider,
    TenantDirectory,
    TenantResolver,
    UsersRepository,
    UserProvisioningService,
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    { provide: APP_GUARD, useClass: TenantGuard },
  ],
  exports: [TenantDirectory],
})
export class AuthModule {}
