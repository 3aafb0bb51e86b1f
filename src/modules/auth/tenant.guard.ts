import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { NO_TENANT_KEY } from 'src/common/decorators/no-tenant.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantContext, type Principal } from 'src/core/context/tenant-context';
import { missingCredentials } from './auth.errors';
import { TenantDirectory } from './tenant-directory';
import { TenantResolver, type TenantSource } from './tenant-resolver';
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
    const user = await this.provisioning.ensureUser(
      tenant,
      principal,
      this.membershipRules(source, tenant.slug, principal),
    );
    this.context.setResolved(tenant, user);
    return true;
  }

  /**
   * Who may become a user of the resolved tenant on first contact, and whether the first one
   * becomes its admin:
   * - a tenant claim, or the default tenant of a single-tenant install: yes, and yes;
   * - a corporate e-mail domain: only with `email_verified: true`, and never as admin (a
   *   look-alike address must not take over an empty tenant);
   * - X-Tenant alone: no — the header selects among one's memberships (the `none` development
   *   provider aside).
   */
  private membershipRules(
    source: TenantSource,
    slug: string,
    principal: Principal,
  ): { mayCreate: boolean; mayBecomeAdmin: boolean } {
    if (principal.provider === 'none') return { mayCreate: true, mayBecomeAdmin: true };
    const { multiTenantMode, defaultTenantSlug } = this.config.tenancy;
    switch (source) {
      case 'claim':
      case 'default':
        return { mayCreate: true, mayBecomeAdmin: true };
      case 'email_domain': {
        const verified = principal.claims.email_verified;
        return { mayCreate: verified === true || verified === 'true', mayBecomeAdmin: false };
      }
      case 'header':
        return { mayCreate: !multiTenantMode && slug === defaultTenantSlug, mayBecomeAdmin: true };
    }
  }
}
