/*
 * The records the request pipeline works with: the registry's view of a tenant and a provisioned
 * user, as the guards, the cache and the context store hold them. Features own the tables; these
 * types are what core/ knows of them.
 */

export const TENANT_ROLES = ['admin', 'member'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/**
 * How a user row became a member of its tenant (DESIGN.md §2 "Admission"):
 * - `claim`: the identity provider's tenant claim; admits only while the token lists the tenant;
 * - `registration`, `setup_admin`, `invitation`, `domain` (a verified e-mail at one of the
 *   tenant's own domains), `default` (the default tenant of a single-tenant install, or the
 *   development provider) and `legacy` (rows older than explicit admission): memberships of their
 *   own, until an admin removes them or the person leaves;
 * - `email_domain`: a pre-upgrade row the retired e-mail first-label rule may have created; admits
 *   nobody until a claim, an invitation or a verified domain confirms it;
 * - `removed`: an admin ended the membership (or the person left); only a new invitation readmits;
 * - `system`: the sample-data owner, never a caller.
 */
export const MEMBERSHIP_SOURCES = [
  'claim',
  'default',
  'registration',
  'setup_admin',
  'invitation',
  'domain',
  'legacy',
  'email_domain',
  'removed',
  'system',
] as const;
export type MembershipSource = (typeof MEMBERSHIP_SOURCES)[number];

/** Sources that are not (or no longer) a person's membership. */
export const INACTIVE_SOURCES: readonly MembershipSource[] = ['removed', 'system'];

export const QUOTA_NAMES = [
  'boards',
  'generations_per_board',
  'members_per_board',
  'stored_bytes',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
export type TenantQuotaOverrides = Partial<Record<QuotaName, number>>;

/**
 * `provisioning`: a tenant whose own database (BOARDS_TENANT_ISOLATION=database) is still being
 * created and seeded; it answers no request until it leaves that status. `moving`: a tenant being
 * copied between the shared database and one of its own (`boards tenant move`): read-only.
 */
export const TENANT_STATUSES = [
  'active',
  'pending_approval',
  'suspended',
  'rejected',
  'provisioning',
  'moving',
] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/**
 * The list's own copy of `value`, or `value` itself when the list does not hold it. The driver
 * gives every row a fresh string; a cached record that keeps the list's copy instead holds no
 * string of its own for a status, role or source (10,000 cached tenants and users kept about
 * 30,000 copies of a handful of words).
 */
export function sharedWord<T extends string>(values: readonly T[], value: T): T {
  for (const known of values) if (known === value) return known;
  return value;
}

/** The one empty issuer list cached tenant records share (frozen: no record can add to it). */
export const NO_ISSUERS: readonly string[] = Object.freeze([]);

/** The one empty set of quota overrides cached tenant records share (frozen, like NO_ISSUERS). */
export const NO_QUOTA_OVERRIDES: TenantQuotaOverrides = Object.freeze({});

/**
 * `issuers`, or the shared NO_ISSUERS when it is empty: most tenants bind no issuer, and the
 * driver gives every row an array of its own (10,000 cached tenants held 10,000 empty arrays and
 * 10,000 empty quota objects, about 0.9 MB).
 */
export function sharedIssuers(issuers: readonly string[] | null | undefined): readonly string[] {
  return issuers && issuers.length > 0 ? issuers : NO_ISSUERS;
}

/** `quotas`, or the shared NO_QUOTA_OVERRIDES when it overrides nothing (see sharedIssuers). */
export function sharedQuotas(
  quotas: TenantQuotaOverrides | null | undefined,
): TenantQuotaOverrides {
  if (quotas) for (const _ in quotas) return quotas;
  return NO_QUOTA_OVERRIDES;
}

/** What a request needs to know about its tenant. */
export interface TenantRecord {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly status: TenantStatus;
  /** Token issuers this tenant is bound to; empty means every trusted issuer. */
  readonly allowedIssuers: readonly string[];
  /** Whether the identity provider's tenant claim admits people (see Tenant.claimsAdmit). */
  readonly claimsAdmit: boolean;
  /** Quota overrides of a platform admin (absent in entries cached before quotas existed). */
  readonly quotas?: TenantQuotaOverrides;
}

/** A provisioned user, as the guards and /api/auth/me see it. */
export interface UserRecord {
  readonly id: string;
  readonly tenantRole: TenantRole;
  readonly membershipSource: MembershipSource;
  readonly email: string | null;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}
