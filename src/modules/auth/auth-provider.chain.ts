import { Injectable, Logger } from '@nestjs/common';
import { BoardsConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';
import {
  REJECTION_STAGES,
  TokenRejectedError,
  invalidToken,
  missingCredentials,
} from './auth.errors';
import { JwtTokenVerifier } from './jwt-token.verifier';
import { parseUnverified, type UnverifiedToken } from './jwt-verification';
import { OidcTokenVerifier } from './oidc-token.verifier';
import { buildPrincipal, developmentPrincipal } from './principal.factory';
import type { TokenVerifier } from './token-verifier';

const BEARER = /^Bearer(?: +(.*))?$/i;
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

  constructor(private readonly config: BoardsConfig) {
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
    if (!match) throw missingCredentials();
    const token = match[1]?.trim() ?? '';
    if (!TOKEN68.test(token)) throw invalidToken('malformed token');

    let parsed: UnverifiedToken;
    try {
      parsed = parseUnverified(token);
    } catch (err) {
      throw invalidToken(err instanceof TokenRejectedError ? err.reason : 'malformed token');
    }

    let failure: TokenRejectedError | undefined;
    for (const verifier of this.verifiers) {
      try {
        const identity = await verifier.verify(token, parsed);
        return buildPrincipal(identity.provider, identity.claims, this.config.auth);
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
    throw invalidToken(rejection.reason);
  }
}

function progress(rejection: TokenRejectedError): number {
  return REJECTION_STAGES.indexOf(rejection.stage);
}
