import { Injectable } from '@nestjs/common';
import { isValidSlug, normalizeSlug } from 'src/common/slug';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import type { TenantRecord } from 'src/core/cache/tenant-cache';

/** Claim names that may carry the tenant, in order (after BOARDS_JWT_TENANT_CLAIM). */
export const TENANT_CLAIMS = [
  'tenant',
  'org',
  'organization',
  'org_slug',
  'org_name',
  'namespace',
  'group',
  'team',
  'workspace',
] as const;

/**
 * Mail providers whose domains say nothing about an organization. Matched on the domain's first
 * label, so regional variants (hotmail.fr, yahoo.co.uk, gmx.de) are skipped too.
 */
export const PUBLIC_MAIL_PROVIDERS = new Set([
  'gmail',
  'googlemail',
  'outlook',
  'hotmail',
  'live',
  'msn',
  'yahoo',
  'ymail',
  'icloud',
  'me',
  'mac',
  'protonmail',
  'proton',
  'pm',
  'aol',
  'gmx',
  'web',
  'mail',
  'yandex',
  'zoho',
]);

export type TenantSource = 'claim' | 'email_domain' | 'header' | 'default';

export interface TenantResolution {
  readonly tenant: TenantRecord;
  readonly source: TenantSource;
}

export interface TenantResolutionInput {
  readonly claims: Readonly<Record<string, unknown>>;
  /** The raw X-Tenant header (Node joins repeated headers with ", "). */
  readonly header: string | string[] | undefined;
}

export type TenantLookup = (slug: string) => Promise<TenantRecord | undefined>;

const MAX_ECHOED_HEADER = 100;

/**
 * DESIGN.md §2, first hit wins:
 * 1. the claim named by BOARDS_JWT_TENANT_CLAIM; 2. `tenant`, `org`, … `workspace` (values are
 * normalized into slugs; a claim holding several tenants needs X-Tenant to pick one of them);
 * 3. multi-tenant mode only: the first label of a corporate e-mail domain, when a tenant with that
 * slug exists (public mail providers and `email_verified: false` are skipped; an e-mail domain
 * without a tenant falls through to the next rule); 4. the X-Tenant header (validated strictly);
 * 5. single-tenant mode: BOARDS_TENANT_SLUG.
 *
 * When the token determines the tenant (rules 1–3), an X-Tenant header naming another tenant is
 * 403. Unknown tenants are 404 in multi-tenant mode and 403 in single-tenant mode; tenants that
 * are not active are 403. Nothing here creates a tenant.
 */
@Injectable()
export class TenantResolver {
  constructor(private readonly config: BoardsConfig) {}

  async resolve(input: TenantResolutionInput, lookup: TenantLookup): Promise<TenantResolution> {
    const header = this.headerSlug(input.header);
    const claimed = this.claimedSlugs(input.claims);

    if (claimed) {
      let slug: string;
      if (claimed.slugs.length === 1) {
        slug = claimed.slugs[0];
        if (header !== undefined && header !== slug) throw this.headerConflict();
      } else if (header === undefined) {
        throw this.missingTenant(
          `The token's "${claimed.claim}" claim names several tenants; choose one with the X-Tenant header.`,
        );
      } else if (claimed.slugs.includes(header)) {
        slug = header;
      } else {
        throw this.headerConflict();
      }
      return { tenant: this.usable(await lookup(slug), slug), source: 'claim' };
    }

    if (this.config.tenancy.multiTenantMode) {
      const domainSlug = emailDomainSlug(input.claims);
      const tenant = domainSlug === undefined ? undefined : await lookup(domainSlug);
      if (tenant) {
        if (header !== undefined && header !== tenant.slug) throw this.headerConflict();
        return { tenant: this.usable(tenant, tenant.slug), source: 'email_domain' };
      }
    }

    if (header !== undefined) {
      return { tenant: this.usable(await lookup(header), header), source: 'header' };
    }
    if (!this.config.tenancy.multiTenantMode) {
      const slug = this.config.tenancy.defaultTenantSlug;
      return { tenant: this.usable(await lookup(slug), slug), source: 'default' };
    }
    throw this.missingTenant(
      'No tenant was given: send an X-Tenant header or use a token with a tenant claim.',
    );
  }

  /** The header's slug, undefined when absent; 400 when present but not a well-formed slug. */
  private headerSlug(raw: string | string[] | undefined): string | undefined {
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (isValidSlug(value)) return value;
    throw new DomainError(
      ErrorCode.BadRequest,
      'The X-Tenant header is not a valid tenant slug (lowercase letters, digits and inner hyphens, at most 50 characters).',
      {
        multi_tenant_mode: this.config.tenancy.multiTenantMode,
        provided_tenant: value.slice(0, MAX_ECHOED_HEADER),
      },
    );
  }

  /**
   * The first tenant claim present. A string (or an array of strings) that normalizes to no slug
   * is 403: the token names a tenant that cannot exist. Other types (objects, numbers) and empty
   * values are not tenant names and are skipped.
   */
  private claimedSlugs(
    claims: Readonly<Record<string, unknown>>,
  ): { claim: string; slugs: string[] } | undefined {
    const names = [this.config.auth.jwt.tenantClaim, ...TENANT_CLAIMS].filter(
      (name): name is string => typeof name === 'string',
    );
    for (const claim of names) {
      const value = claims[claim];
      const values =
        typeof value === 'string'
          ? [value]
          : Array.isArray(value) && value.every((v) => typeof v === 'string')
            ? (value as string[])
            : [];
      const present = values.filter((v) => v.trim() !== '');
      if (present.length === 0) continue;
      const slugs = present.map((v) => normalizeSlug(v));
      if (slugs.some((slug) => slug === undefined)) {
        throw new DomainError(
          ErrorCode.Forbidden,
          `The token's "${claim}" claim does not name a valid tenant.`,
        );
      }
      return { claim, slugs: [...new Set(slugs as string[])] };
    }
    return undefined;
  }

  private usable(tenant: TenantRecord | undefined, slug: string): TenantRecord {
    if (!tenant) {
      throw this.config.tenancy.multiTenantMode
        ? new DomainError(ErrorCode.NotFound, `Tenant "${slug}" was not found.`)
        : new DomainError(ErrorCode.Forbidden, `Tenant "${slug}" is not served here.`);
    }
    if (tenant.status !== 'active') {
      const state = tenant.status === 'pending_approval' ? 'pending approval' : tenant.status;
      throw new DomainError(ErrorCode.Forbidden, `Tenant "${slug}" is ${state}.`);
    }
    return tenant;
  }

  private headerConflict(): DomainError {
    return new DomainError(
      ErrorCode.Forbidden,
      'The X-Tenant header names a different tenant than the token.',
    );
  }

  /** 400 with the documented body; a malformed header (headerSlug) adds provided_tenant. */
  private missingTenant(detail: string): DomainError {
    return new DomainError(ErrorCode.BadRequest, detail, {
      multi_tenant_mode: this.config.tenancy.multiTenantMode,
    });
  }
}

/** Rule 3: `user@acme-corp.com` → `acme-corp`; undefined for public or unverified addresses. */
export function emailDomainSlug(claims: Readonly<Record<string, unknown>>): string | undefined {
  const email = claims.email;
  if (typeof email !== 'string') return undefined;
  if (claims.email_verified === false || claims.email_verified === 'false') return undefined;
  const at = email.lastIndexOf('@');
  if (at < 1) return undefined;
  const labels = email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .split('.');
  if (labels.length < 2 || labels.some((label) => label === '')) return undefined;
  if (PUBLIC_MAIL_PROVIDERS.has(labels[0])) return undefined;
  return normalizeSlug(labels[0]);
}
