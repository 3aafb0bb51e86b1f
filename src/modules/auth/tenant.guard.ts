import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { NO_TENANT_KEY } from 'src/common/decorators/no-tenant.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import type { TenantRecord, UserRecord } from 'src/core/context/records';
import { TenantContext, type Principal } from 'src/core/context/tenant-context';
import { missingCredentials, notAMember, tenantNotActive } from './auth.errors';
import { TenantDirectory } from './tenant-directory';
import { TenantResolver, type TenantSelection } from './tenant-resolver';
import { UserProvisioningService } from './user-provisioning.service';

/**
 * Second global guard, after AuthenticationGuard: admission (DESIGN.md §2). It selects the tenant
 * (TenantResolver: X-Tenant, else the token's claim, else the single-tenant default), then admits
 * the caller only through a membership (UserProvisioningService: claim, invitation, verified
 * domain, registration, the admin named at creation, or the single-tenant default), and stores
 * tenant and user in the TenantContext — from there the TenantTransactionInterceptor opens the
 * request's tenant transaction. @Public() and @NoTenant() routes get no tenant.
 *
 * Non-members get one 403 whatever the tenant's state: unknown, pending, suspended, rejected, or
 * bound to other token issuers. Members of a tenant that is not active (a membership row, or a
 * token whose claim lists it) learn its state (403).
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: TenantContext,
    private readonly resolver: TenantResolver,
    private readonly directory: TenantDirectory,
    private readonly provisioning: UserProvisioningService,
  ) {}

  /** True at once when tenant and user are cached in this process and admit as they are. */
  canActivate(execution: ExecutionContext): boolean | Promise<boolean> {
    const targets = [execution.getHandler(), execution.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    if (this.reflector.getAllAndOverride<boolean>(NO_TENANT_KEY, targets)) return true;
    const principal = this.context.principal;
    if (!principal) throw missingCredentials();
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const selection = this.resolver.resolve({
      claims: principal.claims,
      header: request.headers['x-tenant'],
    });
    const cached = this.directory.cached(selection.slug);
    if (cached) return this.admitTo(cached, principal, selection);
    return this.directory
      .findBySlug(selection.slug)
      .then((tenant) => this.admitTo(tenant, principal, selection));
  }

  /** Admission to the selected tenant: at once when the caller's cached user admits as it is. */
  private admitTo(
    tenant: TenantRecord | undefined,
    principal: Principal,
    selection: TenantSelection,
  ): true | Promise<true> {
    // A tenant still being provisioned does not exist yet for anyone (nor its database, maybe).
    if (!tenant || tenant.status === 'provisioning' || !acceptsIssuer(tenant, principal)) {
      throw notAMember(selection.slug);
    }
    const active = tenant.status === 'active';
    // A tenant being moved between databases serves its members read-only (its transactions are
    // READ ONLY, see TenantTransactions), and admits no one new meanwhile.
    const serving = active || tenant.status === 'moving';
    // The claim counts only in a tenant that accepts the identity provider's word (every tenant a
    // platform admin made; a self-registered one whose registrant's own claim listed it).
    const claimed = selection.claimed && tenant.claimsAdmit !== false;
    const facts = { claimed, everyone: selection.isDefault || principal.provider === 'none' };
    const admitted = (user: UserRecord | undefined): true => {
      // The identity provider's word makes a claim holder a member before any row exists.
      const member = user !== undefined || claimed || selection.isDefault;
      if (!serving && member) throw tenantNotActive(tenant.slug, tenant.status);
      if (!user) throw notAMember(selection.slug);
      this.context.setResolved(tenant, user);
      return true;
    };
    const cached = this.provisioning.cachedMember(tenant, principal, facts);
    if (cached) return admitted(cached);
    return this.provisioning.admit(tenant, principal, facts, { mayWrite: active }).then(admitted);
  }
}

/** A tenant bound to issuers admits only tokens whose verified `iss` is one of them, exactly. */
function acceptsIssuer(tenant: TenantRecord, principal: Principal): boolean {
  const issuers = tenant.allowedIssuers ?? [];
  return (
    issuers.length === 0 || (principal.issuer !== undefined && issuers.includes(principal.issuer))
  );
}
