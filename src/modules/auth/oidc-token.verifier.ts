import { oidcProviderName } from 'src/common/identity-namespace';
import type { AuthConfig } from 'src/core/config/boards-config';
import { TokenRejectedError } from './auth.errors';
import {
  KeySetUnavailableError,
  assertAlgorithm,
  verifyJwt,
  type UnverifiedToken,
} from './jwt-verification';
import { RemoteKeySet } from './remote-key-set';
import type { TokenVerifier, VerifiedIdentity } from './token-verifier';

/** Asymmetric algorithms only: an OIDC access token is never checked with a shared secret. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const DISCOVERY_TIMEOUT_MS = 5_000;

/** One trusted issuer: discovery (once, then kept) and its JWKS. */
class OidcIssuer {
  readonly provider: string;
  readonly keySet: RemoteKeySet;
  private jwksUri: string | undefined;

  constructor(
    readonly issuer: string,
    auth: AuthConfig,
  ) {
    this.provider = oidcProviderName(issuer);
    this.keySet = new RemoteKeySet(() => this.discoverJwksUri(), {
      cacheSeconds: auth.jwksCacheSeconds,
      cooldownSeconds: auth.jwksCooldownSeconds,
    });
  }

  /**
   * Reads `<issuer>/.well-known/openid-configuration`. Its `issuer` must equal the configured one
   * exactly (OpenID Connect Discovery §4.3), and its jwks_uri must not downgrade https to http.
   * Failures surface as KeySetUnavailableError and are retried by the key set's cooldown.
   */
  private async discoverJwksUri(): Promise<string> {
    if (this.jwksUri) return this.jwksUri;
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (err) {
      throw new KeySetUnavailableError(`discovery failed for ${this.issuer}: ${String(err)}`);
    }
    if (document.issuer !== this.issuer) {
      throw new KeySetUnavailableError(`discovery of ${this.issuer} names another issuer`);
    }
    const jwksUri = typeof document.jwks_uri === 'string' ? document.jwks_uri : '';
    let parsed: URL;
    try {
      parsed = new URL(jwksUri);
    } catch {
      throw new KeySetUnavailableError(`discovery of ${this.issuer} has no valid jwks_uri`);
    }
    const issuerIsHttps = new URL(this.issuer).protocol === 'https:';
    if (parsed.protocol !== 'https:' && (issuerIsHttps || parsed.protocol !== 'http:')) {
      throw new KeySetUnavailableError(`discovery of ${this.issuer} has an insecure jwks_uri`);
    }
    this.jwksUri = jwksUri;
    return jwksUri;
  }
}

/**
 * BOARDS_AUTH_PROVIDER=oidc: one or more issuers (BOARDS_OIDC_ISSUER, comma-separated). The
 * token's `iss` picks the issuer (compared exactly, so a trailing slash is another issuer); then
 * signature, `iss` and `aud` (BOARDS_OIDC_AUDIENCE, default the client id) are always checked.
 */
export class OidcTokenVerifier implements TokenVerifier {
  private readonly issuers = new Map<string, OidcIssuer>();
  private readonly audience: string | undefined;
  private readonly clockSkewSeconds: number;

  constructor(auth: AuthConfig) {
    for (const issuer of auth.oidc.issuers) this.issuers.set(issuer, new OidcIssuer(issuer, auth));
    this.audience = auth.oidc.audience ?? auth.oidc.clientId;
    this.clockSkewSeconds = auth.jwt.clockSkewSeconds;
  }

  async verify(token: string, parsed: UnverifiedToken): Promise<VerifiedIdentity> {
    assertAlgorithm(parsed, OIDC_ALGORITHMS);
    const iss = parsed.payload.iss;
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!issuer) throw new TokenRejectedError('untrusted issuer', 'issuer');
    if (!this.audience) throw new TokenRejectedError('invalid audience');
    const claims = await verifyJwt(token, parsed, issuer.keySet.getKey, {
      algorithms: OIDC_ALGORITHMS,
      issuer: issuer.issuer,
      audience: this.audience,
      clockSkewSeconds: this.clockSkewSeconds,
    });
    return { provider: issuer.provider, claims };
  }
}
