import { createHash } from 'node:crypto';

const MAX_PROVIDER_LENGTH = 100;

/**
 * The identity namespace of an OpenID Connect issuer, used as the users' auth_provider and as the
 * provider part of qualified platform-admin entries: `oidc:<host><path>` (hashed when longer than
 * the column), so the same `sub` from two issuers is two people.
 */
export function oidcProviderName(issuer: string): string {
  const url = new URL(issuer);
  const name = `oidc:${url.host}${url.pathname.replace(/\/+$/, '')}`;
  if (name.length <= MAX_PROVIDER_LENGTH) return name;
  return `oidc:${createHash('sha256').update(issuer).digest('hex').slice(0, 40)}`;
}

/** Prefixes that make a BOARDS_PLATFORM_ADMIN_SUBJECTS entry qualified by identity namespace. */
export const QUALIFIED_ENTRY_PREFIXES = ['jwt:', 'oidc:', 'none:'] as const;

export function isQualifiedEntry(entry: string): boolean {
  return QUALIFIED_ENTRY_PREFIXES.some((prefix) => entry.startsWith(prefix));
}
