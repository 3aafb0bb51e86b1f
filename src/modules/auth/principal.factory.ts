import { isQualifiedEntry } from 'src/common/identity-namespace';
import type { AuthConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL_LENGTH = 320;
const MAX_NAME_LENGTH = 255;

/** The fixed caller of BOARDS_AUTH_PROVIDER=none (development only; refused in production). */
export const DEVELOPMENT_IDENTITY = {
  provider: 'none',
  subject: 'dev-user',
  email: 'dev@localhost',
  name: 'Development User',
} as const;

/** Builds the request's principal from verified claims. */
export function buildPrincipal(
  provider: string,
  claims: Readonly<Record<string, unknown>> & { sub: string },
  auth: AuthConfig,
): Principal {
  const subject = claims.sub;
  return {
    provider,
    subject,
    issuer: typeof claims.iss === 'string' && claims.iss !== '' ? claims.iss : undefined,
    email: emailFrom(claims.email),
    emailVerified: claims.email_verified === true,
    name: nameFrom(claims.name) ?? nameFrom(claims.preferred_username),
    claims: frozenCopy(claims),
    isPlatformAdmin: isPlatformAdmin(provider, subject, claims, auth),
  };
}

/**
 * A frozen copy of the claims, built key by key. A spread copy (`{ ...claims }`) made where the
 * claims come in many shapes was given a hidden class of its own once frozen: about 300 bytes
 * more for every cached principal. Keys are defined, never assigned, so a `__proto__` claim stays
 * a plain property.
 */
function frozenCopy(claims: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  return Object.freeze(Object.fromEntries(Object.entries(claims)));
}

export function developmentPrincipal(auth: AuthConfig): Principal {
  const { provider, subject, email, name } = DEVELOPMENT_IDENTITY;
  return buildPrincipal(provider, { sub: subject, email, name }, auth);
}

/**
 * A caller is a platform admin when
 * - BOARDS_PLATFORM_ADMIN_SUBJECTS lists it: a bare entry (`alice`, only accepted by the config
 *   when one identity namespace is trusted) equals its subject, or a qualified entry
 *   (`jwt:alice`, `oidc:idp.example.com:alice`) equals its provider and subject. A subject is never
 *   compared with a qualified entry, so a `sub` of `oidc:idp.example.com:alice` from another
 *   provider is not that admin; the config refuses entries that two namespaces could claim; or
 * - BOARDS_PLATFORM_ADMIN_ROLE is set and appears in one of the role claims `roles`, `role`,
 *   `groups` (an array of strings, or one string holding space- or comma-separated values) or
 *   Keycloak's `realm_access.roles`. Matching is exact and case-sensitive.
 */
export function isPlatformAdmin(
  provider: string,
  subject: string,
  claims: Readonly<Record<string, unknown>>,
  auth: AuthConfig,
): boolean {
  for (const entry of auth.platformAdminSubjects) {
    if (isQualifiedEntry(entry) ? entry === `${provider}:${subject}` : entry === subject) {
      return true;
    }
  }
  const role = auth.platformAdminRole;
  if (!role) return false;
  const realmAccess = claims.realm_access as { roles?: unknown } | undefined;
  const sources = [claims.roles, claims.role, claims.groups, realmAccess?.roles];
  return sources.some((source) => roleValues(source).includes(role));
}

function roleValues(source: unknown): string[] {
  if (typeof source === 'string') return source.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(source)) return source.filter((v): v is string => typeof v === 'string');
  return [];
}

function emailFrom(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim();
  return email.length <= MAX_EMAIL_LENGTH && EMAIL.test(email) ? email : undefined;
}

function nameFrom(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value.trim();
  return name ? name.slice(0, MAX_NAME_LENGTH) : undefined;
}
