import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/**
 * Short reasons for a rejected bearer token. They go into `WWW-Authenticate: Bearer
 * error="invalid_token", error_description="…"` and the error body, so they name what is wrong
 * with the token without echoing configuration (expected issuer, audience, key ids).
 */
export type TokenRejection =
  | 'malformed token'
  | 'token too large'
  | 'algorithm not allowed'
  | 'unsupported critical header'
  | 'unknown signing key'
  | 'ambiguous signing key'
  | 'signing keys unavailable'
  | 'invalid signature'
  | 'token expired'
  | 'token not yet valid'
  | 'token issued in the future'
  | 'missing exp claim'
  | 'invalid claims'
  | 'invalid issuer'
  | 'untrusted issuer'
  | 'invalid audience'
  | 'missing sub claim'
  | 'invalid token';

/**
 * How far a token got with a provider before it was refused: its algorithm is not the provider's,
 * its issuer is not the provider's, or it was meant for the provider and failed verification.
 * A chain reports the reason of the provider the token got furthest with.
 */
export type RejectionStage = 'algorithm' | 'issuer' | 'verification';

export const REJECTION_STAGES: readonly RejectionStage[] = ['algorithm', 'issuer', 'verification'];

/** Thrown by a token verifier. */
export class TokenRejectedError extends Error {
  constructor(
    readonly reason: TokenRejection,
    readonly stage: RejectionStage = 'verification',
    cause?: unknown,
  ) {
    super(reason, { cause });
    this.name = 'TokenRejectedError';
  }
}

/**
 * 401 `missing_token` for a request without bearer credentials: `WWW-Authenticate: Bearer`, no
 * error parameter in the challenge.
 */
export function missingCredentials(): DomainError {
  return new DomainError(
    ErrorCode.Unauthenticated,
    'missing_token',
    'Authentication is required: send an Authorization: Bearer <token> header.',
    {},
    { 'WWW-Authenticate': 'Bearer' },
  );
}

/** 401 `invalid_token` for a rejected token, with the reason in the challenge and the body. */
export function invalidToken(reason: TokenRejection): DomainError {
  return new DomainError(
    ErrorCode.Unauthenticated,
    'invalid_token',
    `The bearer token was rejected: ${reason}.`,
    {},
    { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${reason}"` },
  );
}

/** 403 `platform_admin_required`. */
export function platformAdminRequired(): DomainError {
  return new DomainError(
    ErrorCode.Forbidden,
    'platform_admin_required',
    'This operation is reserved to platform admins.',
  );
}

/**
 * 403 `not_a_member` for a caller who is not a member of the tenant it asked for. The same body
 * whether the tenant exists or not, is pending, suspended or rejected, or is bound to other
 * issuers: a non-member cannot learn which slugs exist.
 */
export function notAMember(slug: string): DomainError {
  return new DomainError(
    ErrorCode.Forbidden,
    'not_a_member',
    `You are not a member of an organization "${slug}"; ask one of its admins for an invitation.`,
  );
}

/**
 * 403 `tenant_not_active` for a member of a tenant that cannot be used now: members (a membership
 * row, or a token whose claim lists the tenant) may know its state.
 */
export function tenantNotActive(slug: string, status: string): DomainError {
  const state = status === 'pending_approval' ? 'pending approval' : status;
  return new DomainError(ErrorCode.Forbidden, 'tenant_not_active', `Tenant "${slug}" is ${state}.`);
}
