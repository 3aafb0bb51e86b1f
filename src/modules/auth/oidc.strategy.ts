import { PassportStrategy } from '@nestjs/passport';
import { Strategy as PassportBaseStrategy } from 'passport';
import type { AuthConfig } from 'src/core/config/boards-config';
import {
  type AuthStrategyRegistry,
  DEFERRED_REGISTRATION,
  bearerOf,
  type AuthStrategy,
  type BearerToken,
  type Validated,
} from './auth-strategies';
import { TokenRejectedError } from './auth.errors';
import { asRejection } from './jwt.strategy';
import { OidcTokenVerifier } from './oidc-token.verifier';
import { buildPrincipal } from './principal.factory';

type Verify = (
  bearer: BearerToken,
  done: (err: unknown, user?: unknown, info?: unknown) => void,
) => void;

/**
 * A passport strategy for the request's bearer token as the guard parsed it: hands it to the
 * verify callback (PassportStrategy's `validate`) and reports success, failure or error to
 * passport. The OIDC provider verifies with jose (discovery, JWKS rotation, EdDSA), which
 * passport-jwt's jsonwebtoken cannot do.
 */
class BearerTokenStrategy extends PassportBaseStrategy {
  constructor(private readonly verify: Verify) {
    super();
  }

  override authenticate(request: unknown): void {
    const bearer = bearerOf(request);
    if (!bearer) return this.fail(new TokenRejectedError('malformed token'), 401);
    this.verify(bearer, (err, user, info) => {
      if (err) this.error(err as Error);
      else if (!user) this.fail(info as Error, 401);
      else this.success(user as Express.User);
    });
  }
}

/**
 * BOARDS_AUTH_PROVIDER=oidc: one or more issuers (BOARDS_OIDC_ISSUER). The token's `iss` picks
 * the issuer (compared exactly); signature, `iss` and `aud` are always checked (OidcTokenVerifier).
 */
export class OidcStrategy extends PassportStrategy(BearerTokenStrategy) implements AuthStrategy {
  readonly provider = 'oidc';
  readonly strategyName: string;
  private readonly verifier: OidcTokenVerifier;

  constructor(
    private readonly auth: AuthConfig,
    registry: AuthStrategyRegistry,
  ) {
    super();
    this.verifier = new OidcTokenVerifier(auth);
    this.strategyName = registry.register(this.provider, this);
  }

  async validate(bearer: BearerToken): Promise<Validated> {
    try {
      const identity = await this.verifier.verify(bearer.token, bearer.parsed);
      return buildPrincipal(identity.provider, identity.claims, this.auth);
    } catch (err) {
      return [false, asRejection(err)];
    }
  }

  /** PassportStrategy registers here; the registry then registers the strategy with passport. */
  getPassportInstance() {
    return DEFERRED_REGISTRATION;
  }
}
