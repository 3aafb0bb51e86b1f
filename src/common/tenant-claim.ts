import { isValidSlug } from './slug';

/** More tenants than this in one claim is not a list of memberships. */
export const MAX_CLAIMED_TENANTS = 100;

/**
 * The tenants a token's tenant claim (`name`, BOARDS_JWT_TENANT_CLAIM) lists, compared exactly:
 * [] when the claim is absent or an empty array; `invalid` when it is present but not a valid
 * slug or an array of at most MAX_CLAIMED_TENANTS valid slugs (another type, an empty string,
 * "Acme" for acme: nothing is folded). Only the token's own property counts, never an inherited
 * one.
 */
export function parseTenantClaim(
  claims: Readonly<Record<string, unknown>>,
  name: string,
): string[] | 'invalid' {
  if (!Object.prototype.hasOwnProperty.call(claims, name)) return [];
  const value = claims[name];
  const values = typeof value === 'string' ? [value] : value;
  if (
    Array.isArray(values) &&
    values.length <= MAX_CLAIMED_TENANTS &&
    values.every((v): v is string => typeof v === 'string' && isValidSlug(v))
  ) {
    return [...new Set(values)];
  }
  return 'invalid';
}
