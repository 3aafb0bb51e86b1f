import { createSecretKey, type KeyObject } from 'node:crypto';
import { PassportStrategy } from '@nestjs/passport';
import type { JWSHeaderParameters } from 'jose';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import type { AuthConfig } from 'src/core/config/boards-config';
import { ConfigError } from 'src/core/config/env-parsers';
import { TokenRejectedError, type TokenRejection } from './auth.errors';
import {
  type AuthStrategyRegistry,
  DEFERRED_REGISTRATION,
  bearerOf,
  type AuthStrategy,
  type BearerToken,
  type Validated,
} from './auth-strategies';
import { assertAlgorithm, checkVerifiedClaims, rejectionFor } from './jwt-verification';
import { publicKeyFromPem } from './public-key';
import { buildPrincipal } from './principal.factory';
import { RemoteKeySet } from './remote-key-set';

/**
 * BOARDS_AUTH_PROVIDER=jwt through passport-jwt (which verifies with jsonwebtoken): one algorithm
 * (BOARDS_JWT_ALGORITHM) with one key source — the HS secret, a PEM public key, or a JWKS URL.
 *
 * passport-jwt does the signature, `exp`/`nbf` (with the clock skew), `iss` and `aud`. What it
 * and jsonwebtoken leave out is checked around it, so the hardening of docs/adr/0004 holds:
 * - before (the guard's parse, then the key provider): size and compact form, JSON-object header
 *   and payload (jsonwebtoken skips claim checks on a JSON-string payload), `crit` refused, the
 *   algorithm pinned before any key is looked at (an HS token is never checked against an RSA
 *   key), the issuer; `jku`, `x5u`, `jwk` and `x5c` are never read, the key comes from
 *   configuration only (a token's `kid` only selects among the configured JWKS's keys);
 * - after (`validate`): `exp` required, `iat` numeric and not in the future, `sub` present;
 * - every failure becomes one of the short reasons of the 401 challenge (`reasonFor`).
 */
export class JwtStrategy extends PassportStrategy(Strategy) implements AuthStrategy {
  readonly provider = 'jwt';
  readonly strategyName: string;

  constructor(
    private readonly auth: AuthConfig,
    registry: AuthStrategyRegistry,
  ) {
    const keys = keySource(auth);
    const { jwt } = auth;
    const options: StrategyOptionsWithoutRequest = {
      jwtFromRequest: (request) => bearerOf(request)?.token ?? null,
      secretOrKeyProvider: (request, _token, done) => {
        keyFor(bearerOf(request), auth, keys).then(
          // jsonwebtoken 9 takes a KeyObject as it is (its types say string | Buffer).
          (key) => done(null, key as unknown as Buffer),
          (err: unknown) => done(asRejection(err)),
        );
      },
      algorithms: [jwt.algorithm],
      issuer: jwt.issuer,
      audience: jwt.audience,
      jsonWebTokenOptions: { clockTolerance: jwt.clockSkewSeconds },
    };
    super(options);
    this.strategyName = registry.register(this.provider, this);
  }

  /** Called by passport-jwt with the payload jsonwebtoken accepted. */
  validate(payload: Record<string, unknown>): Validated {
    try {
      const claims = checkVerifiedClaims(payload, this.auth.jwt.clockSkewSeconds);
      return buildPrincipal(this.provider, claims, this.auth);
    } catch (err) {
      return [false, asRejection(err)];
    }
  }

  /** Every refusal passport-jwt reports (a jsonwebtoken error) becomes a TokenRejectedError. */
  override authenticate(...args: Parameters<Strategy['authenticate']>): void {
    const fail = this.fail.bind(this) as (challenge: unknown, status?: number) => void;
    this.fail = (challenge: unknown, status?: number) => fail(asRejection(challenge), status);
    super.authenticate(...args);
  }

  /** PassportStrategy registers here; the registry then registers the strategy with passport. */
  getPassportInstance() {
    return DEFERRED_REGISTRATION;
  }
}

type KeySource = KeyObject | RemoteKeySet;

function keySource(auth: AuthConfig): KeySource {
  const { jwt } = auth;
  if (jwt.algorithm.startsWith('HS')) {
    if (!jwt.secret) throw new ConfigError('BOARDS_JWT_SECRET', `is required for ${jwt.algorithm}`);
    return createSecretKey(Buffer.from(jwt.secret, 'utf8'));
  }
  if (jwt.publicKey) return publicKeyFromPem(jwt.publicKey, jwt.algorithm);
  if (jwt.publicKeyUrl) {
    const url = jwt.publicKeyUrl;
    return new RemoteKeySet(async () => url, {
      cacheSeconds: auth.jwksCacheSeconds,
      cooldownSeconds: auth.jwksCooldownSeconds,
    });
  }
  throw new ConfigError(
    'BOARDS_JWT_PUBLIC_KEY',
    `${jwt.algorithm} needs BOARDS_JWT_PUBLIC_KEY or BOARDS_JWT_PUBLIC_KEY_URL`,
  );
}

/**
 * The key for this token, after the checks that come before any key: the algorithm is the
 * configured one, and the issuer (when configured) is ours. A JWKS key is chosen by the token's
 * `kid` and `alg` among the keys fetched from the configured URL, never from a URL in the token.
 */
async function keyFor(
  bearer: BearerToken | undefined,
  auth: AuthConfig,
  keys: KeySource,
): Promise<KeyObject> {
  if (!bearer) throw new TokenRejectedError('malformed token');
  const { parsed } = bearer;
  assertAlgorithm(parsed, [auth.jwt.algorithm]);
  if (auth.jwt.issuer !== undefined && parsed.payload.iss !== auth.jwt.issuer) {
    throw new TokenRejectedError('invalid issuer', 'issuer');
  }
  if (!(keys instanceof RemoteKeySet)) return keys;
  const key = await keys.getKey(parsed.header as JWSHeaderParameters, {
    payload: '',
    signature: '',
  });
  return key as KeyObject;
}

/** The refusal of a token as a TokenRejectedError, whatever raised it (ours, jose, jsonwebtoken). */
export function asRejection(err: unknown): TokenRejectedError {
  if (err instanceof TokenRejectedError) return err;
  const reason = reasonFor(err);
  return new TokenRejectedError(
    reason,
    'verification',
    reason === 'invalid token' ? err : undefined,
  );
}

/**
 * jsonwebtoken's errors carry their kind in the class name and message only (9.0.3:
 * TokenExpiredError, NotBeforeError, JsonWebTokenError with a message per check). The messages
 * that echo configuration (expected issuer or audience) are matched by prefix and never shown.
 * jose's errors and the key set's go through rejectionFor.
 */
export function reasonFor(err: unknown): TokenRejection {
  if (!(err instanceof Error)) return 'invalid token';
  switch (err.name) {
    case 'TokenExpiredError':
      return 'token expired';
    case 'NotBeforeError':
      return 'token not yet valid';
    case 'JsonWebTokenError':
      return jsonWebTokenReason(err.message);
    default:
      return rejectionFor(err);
  }
}

const JSON_WEB_TOKEN_REASONS: readonly [prefix: string, reason: TokenRejection][] = [
  ['invalid signature', 'invalid signature'],
  ['jwt signature is required', 'invalid signature'],
  ['invalid algorithm', 'algorithm not allowed'],
  ['jwt audience invalid', 'invalid audience'],
  ['jwt issuer invalid', 'invalid issuer'],
  ['invalid exp value', 'invalid claims'],
  ['invalid nbf value', 'invalid claims'],
  ['jwt malformed', 'malformed token'],
  ['invalid token', 'malformed token'],
];

function jsonWebTokenReason(message: string): TokenRejection {
  return (
    JSON_WEB_TOKEN_REASONS.find(([prefix]) => message.startsWith(prefix))?.[1] ?? 'invalid token'
  );
}
