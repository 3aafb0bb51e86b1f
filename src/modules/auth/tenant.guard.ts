import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { NO_TENANT_KEY } from 'src/common/decorators/no-tenant.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext } from 'src/core/context/tenant-context';
import { missingCredentials } from './auth.errors';
import { TenantDirectory } from './tenant-directory';
import { TenantResolver } from './tenant-resolver';
import { UserProvisioningService } from './user-provisioning.service';

/**
 * Second global guard, after AuthenticationGuard: resolves the request's tenant (DESIGN.md §2,
 * see TenantResolver), provisions or loads the caller's user in it, and stores tenant and user
 * in the TenantContext — from there the TenantTransactionInterceptor opens the request's tenant
 * transaction. @Public() and @NoTenant() routes get no tenant.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: TenantContext,
    private readonly resolver: TenantResolver,
    private readonly directory: TenantDirectory,
    private readonly provisioning: UserProvisioningService,
    private readonly config: BoardsConfig,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    const targets = [execution.getHandler(), execution.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    if (this.reflector.getAllAndOverride<boolean>(NO_TENANT_KEY, targets)) return true;
    const principal = this.context.principal;
    if (!principal) throw missingCredentials();
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const { tenant, source } = await this.resolver.resolve(
      { claims: principal.claims, header: request.headers['x-tenant'] },
      (slug) => this.directory.findBySlug(slug),
    );
    // Naming a tenant in X-Tenant selects among one's memberships; it never creates one
    // (development's `none` provider, and the default tenant of a single-tenant install, aside).
    const { multiTenantMode, defaultTenantSlug } = this.config.tenancy;
    const mayCreate =
      source !== 'header' ||
      principal.provider === 'none' ||
      (!multiTenantMode && tenant.slug === defaultTenantSlug);
    const user = await this.provisioning.ensureUser(tenant, principal, { mayCreate });
    this.context.setTenant(tenant);
    this.context.setUser({ id: user.id, role: user.tenantRole });
    return true;
  }
}
