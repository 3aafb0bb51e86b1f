import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { emailDomain } from 'src/common/email';
import { parseTenantClaim } from 'src/common/tenant-claim';
import { BoardsConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import type { RegisterTenantDto } from './dto/register-tenant.dto';
import type { RegistrationResponse, RegistrationStatusResponse } from './dto/registration.response';
import { toTenantResponse } from './dto/tenant.response';
import { TenantAdminService } from './tenant-admin.service';
import { TenantErrors } from './tenants.errors';
import { TenantsRepository } from './tenants.repository';

/**
 * Self-service registration (multi-tenant mode): allowed e-mail domains, a limit of tenants per
 * identity, optional approval. The registrant becomes the new tenant's admin.
 */
@Injectable()
export class RegistrationService {
  constructor(
    private readonly config: BoardsConfig,
    private readonly tenants: TenantsRepository,
    private readonly transactions: TenantTransactions,
    private readonly admin: TenantAdminService,
  ) {}

  status(): RegistrationStatusResponse {
    const { multiTenantMode, registration } = this.config.tenancy;
    return {
      registration_open: multiTenantMode,
      requires_approval: registration.requiresApproval,
      allowed_domains: [...registration.allowedDomains],
      max_tenants_per_user: registration.maxTenantsPerUser,
    };
  }

  async register(principal: Principal, dto: RegisterTenantDto): Promise<RegistrationResponse> {
    const { multiTenantMode, registration } = this.config.tenancy;
    if (!multiTenantMode) throw TenantErrors.registrationClosed();
    if (registration.allowedDomains.length > 0) {
      // The token's own address must be verified (email_verified: true, nothing else) and at an
      // allowed domain; the admin_email given in the body as well.
      if (!principal.email || !principal.emailVerified) throw TenantErrors.emailNotVerified();
      const domains = [emailDomain(dto.admin_email), emailDomain(principal.email)];
      const refused = domains.find((domain) => !registration.allowedDomains.includes(domain));
      if (refused) throw TenantErrors.domainNotAllowed(refused);
    }
    const identity = `${principal.provider}:${principal.subject}`;
    const claimed = parseTenantClaim(principal.claims, this.config.auth.jwt.tenantClaim);
    const claimedByRegistrant = claimed === 'invalid' ? [] : claimed;
    const id = randomUUID();
    const status = registration.requiresApproval ? 'pending_approval' : 'active';

    const register = (slug: string) =>
      // A registry transaction: with a database per tenant, the new tenant's database does not
      // exist yet (createTenant makes it).
      this.transactions.runRegistry(id, async () => {
        await this.tenants.lockIdentity(identity);
        if ((await this.tenants.countRegisteredBy(identity)) >= registration.maxTenantsPerUser) {
          throw TenantErrors.tenantLimit(registration.maxTenantsPerUser);
        }
        return this.admin.createTenant(
          {
            id,
            name: dto.organization_name,
            slug,
            status,
            settings: {
              registration: {
                admin_email: dto.admin_email,
                use_case: dto.use_case ?? null,
                organization_size: dto.organization_size ?? null,
                metadata: dto.metadata ?? {},
              },
            },
            allowedIssuers: [],
            // Registering a slug an identity provider uses must not capture the people it assigns
            // to it: the claim admits only when the registrant's own claim listed the slug.
            claimsAdmit: claimedByRegistrant.includes(slug),
            registeredBy: identity,
          },
          {
            admin: {
              provider: principal.provider,
              subject: principal.subject,
              // The address the token vouches for; admin_email (a contact) is kept in settings.
              email: principal.email ?? null,
              displayName: dto.admin_name ?? principal.name ?? null,
            },
            includeSampleData: dto.include_sample_data ?? false,
            auditAction: 'tenant.register',
            selfService: true,
            auditDetails: { registered_by: identity },
          },
        );
      });
    const tenant = await this.admin.withGeneratedSlug(
      dto.organization_slug,
      dto.organization_name,
      'organization_slug',
      register,
    );

    const base = this.config.api.frontendBaseUrl?.replace(/\/+$/, '');
    return {
      tenant: toTenantResponse(tenant),
      requires_approval: status === 'pending_approval',
      dashboard_url: base ? `${base}/${tenant.slug}` : null,
      api_access: {
        base_url: '/api',
        tenant_header: 'X-Tenant',
        tenant_slug: tenant.slug,
        docs_url: '/api/docs',
      },
      message:
        status === 'pending_approval'
          ? 'Your organization is registered and waits for approval by a platform administrator.'
          : 'Your organization is ready; you are its administrator.',
    };
  }
}
