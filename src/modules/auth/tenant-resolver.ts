import { Injectable } from '@nestjs/common';
import { isValidSlug } from 'src/common/slug';
import { parseTenantClaim } from 'src/common/tenant-claim';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** Which tenant a request asks for, and what the token says about the caller's place in it. */
export interface TenantSelection {
  readonly slug: string;
  /** The token's tenant claim lists this tenant: the identity provider says the caller belongs. */
  readonly claimed: boolean;
  /** The default tenant of a single-tenant install, to which every authenticated caller belongs. */
  readonly isDefault: boolean;
}

export interface TenantResolutionInput {
  readonly claims: Readonly<Record<string, unknown>>;
  /** The raw X-Tenant header (Node joins repeated headers with ", "). */
  readonly header: string | string[] | undefined;
}

const MAX_ECHOED_HEADER = 100;

/**
 * Selection, DESIGN.md §2 "Admission" 3. The tenant a request acts in is
 * - the X-Tenant header when present (a choice among the caller's memberships; whether the caller
 *   is a member is decided afterwards, by the tenant guard, and nothing overrides the choice);
 * - else the one tenant the token's claim lists (a claim listing several needs X-Tenant);
 * - else, in single-tenant mode, BOARDS_TENANT_SLUG; in multi-tenant mode nothing (400).
 *
 * The claim is the one named by BOARDS_JWT_TENANT_CLAIM (default `tenant`) and no other, compared
 * exactly: a valid slug, or an array of them. Anything else present under that name (another
 * type, an empty string, a value that is not a slug, "Acme" for acme) is 403: no folding of case,
 * accents or width, no other claim names, nothing taken from the e-mail address.
 * Nothing here looks anything up or creates anything.
 */
@Injectable()
export class TenantResolver {
  constructor(private readonly config: BoardsConfig) {}

  resolve(input: TenantResolutionInput): TenantSelection {
    const header = this.headerSlug(input.header);
    const claimed = this.claimedSlugs(input.claims);
    const { multiTenantMode, defaultTenantSlug } = this.config.tenancy;
    const select = (slug: string): TenantSelection => ({
      slug,
      claimed: claimed.includes(slug),
      isDefault: !multiTenantMode && slug === defaultTenantSlug,
    });

    if (header !== undefined) return select(header);
    if (claimed.length === 1) return select(claimed[0]);
    if (claimed.length > 1) {
      throw this.missingTenant(
        `The token's "${this.claimName}" claim lists several tenants; choose one with the X-Tenant header.`,
      );
    }
    if (!multiTenantMode) return select(defaultTenantSlug);
    throw this.missingTenant(
      'No tenant was given: send an X-Tenant header or use a token with a tenant claim.',
    );
  }

  private get claimName(): string {
    return this.config.auth.jwt.tenantClaim;
  }

  /** The header's slug, undefined when absent; 400 when present but not a well-formed slug. */
  private headerSlug(raw: string | string[] | undefined): string | undefined {
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (isValidSlug(value)) return value;
    throw new DomainError(
      ErrorCode.BadRequest,
      'invalid_tenant_header',
      'The X-Tenant header is not a valid tenant slug (lowercase letters, digits and inner hyphens, at most 50 characters).',
      {
        multi_tenant_mode: this.config.tenancy.multiTenantMode,
        provided_tenant: value.slice(0, MAX_ECHOED_HEADER),
      },
    );
  }

  /**
   * The tenants the configured claim lists: [] when the claim is absent (or an empty array);
   * 403 when it is present but not a valid slug or an array of valid slugs.
   */
  private claimedSlugs(claims: Readonly<Record<string, unknown>>): string[] {
    const claimed = parseTenantClaim(claims, this.claimName);
    if (claimed !== 'invalid') return claimed;
    throw new DomainError(
      ErrorCode.Forbidden,
      'invalid_tenant_claim',
      `The token's "${this.claimName}" claim does not name valid tenant slugs.`,
    );
  }

  /** 400 with the documented body; a malformed header (headerSlug) adds provided_tenant. */
  private missingTenant(detail: string): DomainError {
    return new DomainError(ErrorCode.BadRequest, 'tenant_required', detail, {
      multi_tenant_mode: this.config.tenancy.multiTenantMode,
    });
  }
}
