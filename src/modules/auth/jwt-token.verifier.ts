import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { AuthConfig, JwtAlgorithm } from 'src/core/config/boards-config';
import { ConfigError } from 'src/core/config/env-parsers';
import { TokenRejectedError } from './auth.errors';
import {
  assertAlgorithm,
  verifyJwt,
  type UnverifiedToken,
  type VerificationPolicy,
} from './jwt-verification';
import { RemoteKeySet } from './remote-key-set';
import type { TokenVerifier, VerifiedIdentity } from './token-verifier';

const EC_CURVES: Partial<Record<JwtAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
};

/**
 * BOARDS_AUTH_PROVIDER=jwt: one algorithm (BOARDS_JWT_ALGORITHM) with one key source — the HS
 * secret, a PEM public key, or a JWKS URL. Tokens of any other algorithm are refused before a key
 * is looked at, so an HS token can never be checked against an RSA public key.
 */
export class JwtTokenVerifier implements TokenVerifier {
  private readonly key: KeyObject | RemoteKeySet['getKey'];
  private readonly policy: VerificationPolicy;

  constructor(auth: AuthConfig) {
    const { jwt } = auth;
    if (jwt.algorithm.startsWith('HS')) {
      if (!jwt.secret)
        throw new ConfigError('BOARDS_JWT_SECRET', `is required for ${jwt.algorithm}`);
      this.key = createSecretKey(Buffer.from(jwt.secret, 'utf8'));
    } else if (jwt.publicKey) {
      this.key = publicKeyFromPem(jwt.publicKey, jwt.algorithm);
    } else if (jwt.publicKeyUrl) {
      const url = jwt.publicKeyUrl;
      this.key = new RemoteKeySet(async () => url, {
        cacheSeconds: auth.jwksCacheSeconds,
        cooldownSeconds: auth.jwksCooldownSeconds,
      }).getKey;
    } else {
      throw new ConfigError(
        'BOARDS_JWT_PUBLIC_KEY',
        `${jwt.algorithm} needs BOARDS_JWT_PUBLIC_KEY or BOARDS_JWT_PUBLIC_KEY_URL`,
      );
    }
    this.policy = {
      algorithms: [jwt.algorithm],
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockSkewSeconds: jwt.clockSkewSeconds,
    };
  }

  async verify(token: string, parsed: UnverifiedToken): Promise<VerifiedIdentity> {
    assertAlgorithm(parsed, this.policy.algorithms);
    if (this.policy.issuer !== undefined && parsed.payload.iss !== this.policy.issuer) {
      throw new TokenRejectedError('invalid issuer', 'issuer');
    }
    return { provider: 'jwt', claims: await verifyJwt(token, parsed, this.key, this.policy) };
  }
}

/**
 * Reads BOARDS_JWT_PUBLIC_KEY (SPKI or PKCS#1 PEM, or an X.509 certificate; `\n` escapes are
 * accepted for one-line environment files) and checks it fits the configured algorithm.
 */
export function publicKeyFromPem(pem: string, algorithm: JwtAlgorithm): KeyObject {
  const text = pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new ConfigError('BOARDS_JWT_PUBLIC_KEY', 'is not a PEM public key or certificate');
  }
  const type = key.asymmetricKeyType;
  const fits = algorithm.startsWith('ES')
    ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm]
    : type === 'rsa' || (algorithm.startsWith('PS') && type === 'rsa-pss');
  if (!fits) {
    throw new ConfigError(
      'BOARDS_JWT_PUBLIC_KEY',
      `holds a ${type ?? 'unknown'} key, which cannot verify ${algorithm} (BOARDS_JWT_ALGORITHM)`,
    );
  }
  return key;
}
