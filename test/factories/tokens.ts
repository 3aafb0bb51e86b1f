import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * Tokens for tests. `signJws` signs whatever header and payload it is given (no validation), so
 * the same helper mints valid tokens and forges broken ones. `TOKENS` are pre-minted HS256 tokens
 * per tenant and role for apps started with `jwtAuthEnv()`.
 */

/** The HS256 secret of `jwtAuthEnv()` (32+ bytes, so it also passes production rules). */
export const TEST_JWT_SECRET = 'boards-test-secret-0123456789abcdef-0123456789';
/** Subject that `jwtAuthEnv()` makes a platform admin. */
export const PLATFORM_ADMIN_SUBJECT = 'platform-root';

/** BOARDS_* variables for an app that accepts the tokens of this file. */
export function jwtAuthEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    BOARDS_AUTH_PROVIDER: 'jwt',
    BOARDS_JWT_SECRET: TEST_JWT_SECRET,
    BOARDS_JWT_ALGORITHM: 'HS256',
    BOARDS_PLATFORM_ADMIN_SUBJECTS: PLATFORM_ADMIN_SUBJECT,
    ...extra,
  };
}

export type Claims = Record<string, unknown>;
export type Header = Record<string, unknown>;

export function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

export function encodeJson(value: unknown): string {
  return base64url(JSON.stringify(value));
}

/** A signing key for `signJws`: an HMAC secret, or a private key (RSA, EC). */
export type SigningKey = { secret: string | Buffer } | { privateKey: KeyObject };

/**
 * Signs `header.payload` with the algorithm named by header.alg (HS*, RS*, PS*, ES*; `none` and
 * unknown names give an empty signature). Nothing is checked: this forges as readily as it signs.
 */
export function signJws(header: Header, payload: Claims | string, key: SigningKey): string {
  const payloadSegment = typeof payload === 'string' ? base64url(payload) : encodeJson(payload);
  const input = `${encodeJson(header)}.${payloadSegment}`;
  return `${input}.${signature(String(header.alg), input, key)}`;
}

export function signature(alg: string, input: string, key: SigningKey): string {
  const bits = alg.slice(2);
  const hash = `sha${bits}`;
  if (/^HS(256|384|512)$/.test(alg) && 'secret' in key) {
    return createHmac(hash, key.secret).update(input).digest('base64url');
  }
  if ('privateKey' in key) {
    if (/^RS(256|384|512)$/.test(alg)) {
      return cryptoSign(hash, Buffer.from(input), key.privateKey).toString('base64url');
    }
    if (/^PS(256|384|512)$/.test(alg)) {
      return cryptoSign(hash, Buffer.from(input), {
        key: key.privateKey,
        padding: 6, // RSA_PKCS1_PSS_PADDING
        saltLength: Number(bits) / 8,
      }).toString('base64url');
    }
    if (/^ES(256|384|512)$/.test(alg)) {
      return cryptoSign(hash, Buffer.from(input), {
        key: key.privateKey,
        dsaEncoding: 'ieee-p1363',
      }).toString('base64url');
    }
  }
  return '';
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Standard claims (iat now, exp in an hour) around `claims`; undefined values are dropped. */
export function withTimes(claims: Claims, ttlSeconds = 3_600): Claims {
  const now = nowSeconds();
  const merged: Claims = { iat: now, exp: now + ttlSeconds, ...claims };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged;
}

/** An HS256 token with TEST_JWT_SECRET (or `secret`), valid for an hour unless claims say otherwise. */
export function hs256Token(claims: Claims, secret: string = TEST_JWT_SECRET): string {
  return signJws({ alg: 'HS256', typ: 'JWT' }, withTimes(claims), { secret });
}

/** Authorization (and X-Tenant) headers for fetch. */
export function bearer(token: string, tenant?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    ...(tenant !== undefined && { 'x-tenant': tenant }),
  };
}

// ---- key material -------------------------------------------------------------------------------

export interface TestKeyPair {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK with kid, alg and use, as a JWKS publishes it. */
  readonly publicJwk: JWK;
  /** Private JWK with kid, alg and use (for oidc-provider's keystore). */
  readonly privateJwk: JWK;
  readonly publicPem: string;
}

function keyPair(kid: string, alg: string, pair: { privateKey: KeyObject; publicKey: KeyObject }) {
  const meta = { kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), ...meta },
    privateJwk: { ...(pair.privateKey.export({ format: 'jwk' }) as JWK), ...meta },
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function rsaKeyPair(kid: string, alg = 'RS256'): TestKeyPair {
  return keyPair(kid, alg, generateKeyPairSync('rsa', { modulusLength: 2048 }));
}

export function ecKeyPair(kid: string, alg = 'ES256'): TestKeyPair {
  const namedCurve = alg === 'ES384' ? 'P-384' : 'P-256';
  return keyPair(kid, alg, generateKeyPairSync('ec', { namedCurve }));
}

// ---- pre-minted tokens ----------------------------------------------------------------------------

/** Tenants the pre-minted tokens name; create them in the suite's own database (createTenant). */
export const TOKEN_TENANTS = { acme: 'acme', globex: 'globex' } as const;

function tenantTokens(slug: string) {
  return {
    /** Use it first in a fresh tenant: the first user of a tenant becomes its admin. */
    admin: hs256Token({
      sub: `${slug}-admin`,
      tenant: slug,
      email: `admin@${slug}.test`,
      name: `${slug} admin`,
    }),
    member: hs256Token({
      sub: `${slug}-member`,
      tenant: slug,
      email: `member@${slug}.test`,
      name: `${slug} member`,
    }),
    /** Same person as `member`'s subject naming no tenant: resolves by header or default. */
    memberWithoutClaim: hs256Token({ sub: `${slug}-member`, email: `member@${slug}.test` }),
  };
}

/** HS256 tokens (TEST_JWT_SECRET), valid for an hour from module load. */
export const TOKENS = {
  acme: tenantTokens(TOKEN_TENANTS.acme),
  globex: tenantTokens(TOKEN_TENANTS.globex),
  /** A platform admin (jwtAuthEnv lists its subject) without a tenant claim. */
  platformAdmin: hs256Token({ sub: PLATFORM_ADMIN_SUBJECT, email: 'root@boards.test' }),
  /** No tenant claim, public mail domain: resolves by X-Tenant or the default tenant. */
  noTenant: hs256Token({ sub: 'wanderer', email: 'wanderer@gmail.com' }),
};
