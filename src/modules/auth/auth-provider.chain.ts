import { Injectable, Logger, Optional } from '@nestjs/common';
import { LruTtlCache } from 'src/core/cache/lru-ttl-cache';
import { BoardsConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';
import type { DomainError } from 'src/core/errors/domain-error';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import {
  REJECTION_STAGES,
  TokenRejectedError,
  invalidToken,
  missingCredentials,
  type TokenRejection,
} from './auth.errors';
import { JwtTokenVerifier } from './jwt-token.verifier';
import { parseUnverified, type UnverifiedToken } from './jwt-verification';
import { OidcTokenVerifier } from './oidc-token.verifier';
import { buildPrincipal, developmentPrincipal } from './principal.factory';
import type { TokenVerifier } from './token-verifier';

const BEARER = /^Bearer(?: +(.*))?$/i;
const VERIFIED_TOKEN_TTL_MS = 60_000;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The providers of BOARDS_AUTH_PROVIDER, tried in order (`jwt,oidc`): the first that verifies the
 * token wins. When all refuse, the reason reported is that of the provider the token got furthest
 * with (algorithm accepted, then issuer accepted), the earlier one on a tie. `none` replaces the
 * chain with the fixed development principal.
 */
@Injectable()
export class AuthProviderChain {
  private readonly logger = new Logger('Auth');
  private readonly verifiers: TokenVerifier[];
  private readonly development: Principal | undefined;
  // Room for every token seen within the TTL at tens of thousands of active users: an LRU smaller
  // than a cyclic working set misses on every access.
  private readonly verified = new LruTtlCache<Principal>(50_000, VERIFIED_TOKEN_TTL_MS);

  constructor(
    private readonly config: BoardsConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const { auth } = config;
    this.development = auth.providers.includes('none') ? developmentPrincipal(auth) : undefined;
    this.verifiers = auth.providers.flatMap((provider): TokenVerifier[] => {
      switch (provider) {
        case 'none':
          return [];
        case 'jwt':
          return [new JwtTokenVerifier(auth)];
        case 'oidc':
          return [new OidcTokenVerifier(auth)];
      }
    });
  }

  /** The principal for an Authorization header value; throws the 401 DomainError otherwise. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (this.development) return this.development;
    const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
    if (!match) throw this.rejected('missing_token');
    const token = match[1]?.trim() ?? '';
    if (!TOKEN68.test(token)) throw this.rejected('malformed token');

    const known = this.verified.get(token);
    if (known) return known;

    let parsed: UnverifiedToken;
    try {
      parsed = parseUnverified(token);
    } catch (err) {
      throw this.rejected(err instanceof TokenRejectedError ? err.reason : 'malformed token');
    }

    let failure: TokenRejectedError | undefined;
    for (const verifier of this.verifiers) {
      try {
        const identity = await verifier.verify(token, parsed);
        const principal = buildPrincipal(identity.provider, identity.claims, this.config.auth);
        this.remember(token, principal);
        return principal;
      } catch (err) {
        const rejection =
          err instanceof TokenRejectedError
            ? err
            : new TokenRejectedError('invalid token', 'verification', err);
        if (!failure || progress(rejection) > progress(failure)) failure = rejection;
      }
    }
    const rejection = failure ?? new TokenRejectedError('invalid token');
    if (rejection.cause !== undefined) {
      this.logger.warn({ err: rejection.cause }, `token rejected: ${rejection.reason}`);
    }
    throw this.rejected(rejection.reason);
  }

  /**
   * A verified token is remembered (by its exact text) until it expires, at most
   * VERIFIED_TOKEN_TTL_MS, so a client repeating its token is not verified again on every
   * request. A key withdrawn from a JWKS stops tokens it signed within that time.
   */
  private remember(token: string, principal: Principal): void {
    const exp = principal.claims.exp;
    if (typeof exp !== 'number') return;
    const ttlMs = exp * 1000 - Date.now();
    if (ttlMs > 0) this.verified.set(token, principal, ttlMs);
  }

  /** The 401 for a refused request, counted in boards_auth_failures_total{reason}. */
  private rejected(reason: TokenRejection | 'missing_token'): DomainError {
    this.metrics?.authFailures.inc({ reason: reason.replace(/ /g, '_') });
    return reason === 'missing_token' ? missingCredentials() : invalidToken(reason);
  }
}

function progress(rejection: TokenRejectedError): number {
  return REJECTION_STAGES.indexOf(rejection.stage);
}
