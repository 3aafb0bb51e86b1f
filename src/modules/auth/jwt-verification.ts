import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { TokenRejectedError, type TokenRejection } from './auth.errors';

/** Longer tokens are refused before any parsing (Node's own header limit is 16 KiB in total). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** Three base64url segments; the signature may be empty only to be rejected later. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_SUBJECT_LENGTH = 255;

/** The decoded, not yet trusted, parts of a compact JWS. */
export interface UnverifiedToken {
  readonly alg: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A token whose signature and claims were verified. */
export interface VerifiedClaims extends JWTPayload {
  readonly sub: string;
}

export interface VerificationPolicy {
  /** The algorithms this provider accepts; one family per key, never `none`. */
  readonly algorithms: readonly string[];
  readonly issuer?: string;
  readonly audience?: string;
  readonly clockSkewSeconds: number;
}

/** Raised by key sources when no key set could ever be loaded (endpoint down from the start). */
export class KeySetUnavailableError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'KeySetUnavailableError';
  }
}

function decodeSegment(segment: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('not a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Structural checks before any key is looked at: size, compact form, JSON object header and
 * payload, an `alg`, and no `crit` (this service implements no JWS extension, so any critical
 * header must be refused, RFC 7515 §4.1.11). `jku`, `x5u`, `jwk` and `x5c` are never read.
 */
export function parseUnverified(token: string): UnverifiedToken {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('token too large');
  if (!COMPACT_JWS.test(token)) throw new TokenRejectedError('malformed token');
  const [headerSegment, payloadSegment] = token.split('.');
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodeSegment(headerSegment);
    payload = decodeSegment(payloadSegment);
  } catch {
    throw new TokenRejectedError('malformed token');
  }
  if (typeof header.alg !== 'string' || header.alg.length === 0) {
    throw new TokenRejectedError('malformed token');
  }
  if (header.crit !== undefined) throw new TokenRejectedError('unsupported critical header');
  return { alg: header.alg, header, payload };
}

/** Refuses, before any key lookup, a token whose algorithm the provider does not accept. */
export function assertAlgorithm(parsed: UnverifiedToken, algorithms: readonly string[]): void {
  if (!algorithms.includes(parsed.alg)) {
    throw new TokenRejectedError('algorithm not allowed', 'algorithm');
  }
}

/**
 * Verifies signature and claims with jose: the algorithm must be in the policy's allow-list
 * (checked before any key lookup), `exp` is required, `nbf`/`exp` get the clock skew, `iss`/`aud`
 * are compared exactly when the policy names them. Adds what jose leaves out: `iat` must not be in
 * the future, and `sub` must be a non-empty string. Every failure becomes a TokenRejectedError.
 */
export async function verifyJwt(
  token: string,
  parsed: UnverifiedToken,
  key: KeyLike | Uint8Array | JWTVerifyGetKey,
  policy: VerificationPolicy,
): Promise<VerifiedClaims> {
  assertAlgorithm(parsed, policy.algorithms);
  const getKey: JWTVerifyGetKey = typeof key === 'function' ? key : () => key;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: [...policy.algorithms],
      issuer: policy.issuer,
      audience: policy.audience,
      clockTolerance: policy.clockSkewSeconds,
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    const reason = rejectionFor(err);
    throw new TokenRejectedError(
      reason,
      'verification',
      reason === 'invalid token' ? err : undefined,
    );
  }
  return checkVerifiedClaims(payload, policy.clockSkewSeconds);
}

/**
 * The checks after a library accepted signature and standard claims (jose here, jsonwebtoken in
 * the passport-jwt strategy), the same for both: `exp` is required and numeric, `iat` numeric and
 * not in the future, `sub` a non-empty string of at most 255 characters.
 */
export function checkVerifiedClaims(
  payload: Readonly<Record<string, unknown>>,
  clockSkewSeconds: number,
): VerifiedClaims {
  if (payload.exp === undefined) throw new TokenRejectedError('missing exp claim');
  if (typeof payload.exp !== 'number') throw new TokenRejectedError('invalid claims');
  if (payload.iat !== undefined && typeof payload.iat !== 'number') {
    throw new TokenRejectedError('invalid claims');
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === 'number' && payload.iat > now + clockSkewSeconds) {
    throw new TokenRejectedError('token issued in the future');
  }
  if (
    typeof payload.sub !== 'string' ||
    payload.sub.length === 0 ||
    payload.sub.length > MAX_SUBJECT_LENGTH
  ) {
    throw new TokenRejectedError('missing sub claim');
  }
  return payload as VerifiedClaims;
}

/** Maps jose's errors to the short reasons of the WWW-Authenticate challenge. */
export function rejectionFor(err: unknown): TokenRejection {
  if (err instanceof TokenRejectedError) return err.reason;
  if (err instanceof KeySetUnavailableError) return 'signing keys unavailable';
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'token not yet valid';
      case 'iss':
        return 'invalid issuer';
      case 'aud':
        return 'invalid audience';
      case 'exp':
        return err.reason === 'missing' ? 'missing exp claim' : 'invalid claims';
      default:
        return 'invalid claims';
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown signing key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous signing key';
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  ) {
    return 'malformed token';
  }
  return 'invalid token';
}
