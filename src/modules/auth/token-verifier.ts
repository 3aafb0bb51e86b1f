import type { UnverifiedToken, VerifiedClaims } from './jwt-verification';

/** A verified token and the identity namespace (provider) its subject belongs to. */
export interface VerifiedIdentity {
  /** `jwt`, or `oidc:<issuer host/path>`: users are keyed by (tenant, provider, subject). */
  readonly provider: string;
  readonly claims: VerifiedClaims;
}

/** One link of the provider chain. Throws TokenRejectedError when the token does not verify. */
export interface TokenVerifier {
  verify(token: string, parsed: UnverifiedToken): Promise<VerifiedIdentity>;
}
