import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type KeyLike,
} from 'jose';
import { KeySetUnavailableError } from './jwt-verification';

export interface RemoteKeySetOptions {
  /** How long a fetched key set is fresh (BOARDS_JWKS_CACHE_SECONDS). */
  readonly cacheSeconds: number;
  /** Minimum time between refetches caused by unknown kids or failures (BOARDS_JWKS_COOLDOWN_SECONDS). */
  readonly cooldownSeconds: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_JWKS_BYTES = 512 * 1024;
const ASYMMETRIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

type Resolver = ReturnType<typeof createLocalJWKSet>;

/**
 * A JSON Web Key Set fetched from a URL (BOARDS_JWT_PUBLIC_KEY_URL, an OIDC issuer's jwks_uri).
 *
 * - `kid` only selects among the fetched keys (jose's local key set: kty by alg, kid, use, alg).
 * - The set is fresh for `cacheSeconds`; after that, requests keep using it while one background
 *   refresh runs.
 * - An unknown `kid` triggers one refetch, then at most one per `cooldownSeconds` however many
 *   unknown kids arrive (a flood of random kids cannot hammer the identity provider). A key
 *   rotated in at the provider is therefore accepted on its first request.
 * - A failed fetch never discards the last good set: while the endpoint is down, known keys keep
 *   verifying. Only when no set was ever loaded does verification fail ("signing keys
 *   unavailable"), retried at most once per cooldown.
 * - Symmetric (`oct`) keys and private members are dropped: a JWKS only ever yields public keys.
 */
export class RemoteKeySet {
  private current: { resolve: Resolver; fetchedAt: number } | undefined;
  private lastRefetchAt = Number.NEGATIVE_INFINITY;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly url: () => Promise<string>,
    private readonly options: RemoteKeySetOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** A jose key resolver (`jwtVerify(token, keySet.getKey)`). */
  readonly getKey = async (
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<KeyLike> => {
    const current = this.current ?? (await this.initialLoad());
    if (this.isStale(current.fetchedAt) && this.mayRefetch()) {
      void this.refetch().catch(() => undefined);
    }
    try {
      return await current.resolve(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.inflight) await this.inflight.catch(() => undefined);
      else if (this.mayRefetch()) await this.refetch().catch(() => undefined);
      else throw err;
      return (this.current ?? current).resolve(header, token);
    }
  };

  private isStale(fetchedAt: number): boolean {
    return this.now() - fetchedAt >= this.options.cacheSeconds * 1000;
  }

  private mayRefetch(): boolean {
    return this.now() - this.lastRefetchAt >= this.options.cooldownSeconds * 1000;
  }

  private async initialLoad(): Promise<{ resolve: Resolver; fetchedAt: number }> {
    if (!this.inflight) {
      if (this.now() - this.lastFailureAt < this.options.cooldownSeconds * 1000) {
        throw new KeySetUnavailableError('the key set could not be fetched recently');
      }
      this.inflight = this.fetchAndStore();
    }
    await this.inflight.catch(() => undefined);
    if (!this.current) throw new KeySetUnavailableError('the key set could not be fetched');
    return this.current;
  }

  private refetch(): Promise<void> {
    if (!this.inflight) {
      this.lastRefetchAt = this.now();
      this.inflight = this.fetchAndStore();
    }
    return this.inflight;
  }

  private async fetchAndStore(): Promise<void> {
    try {
      const jwks = await this.fetchKeySet();
      this.current = { resolve: createLocalJWKSet(jwks), fetchedAt: this.now() };
    } catch (err) {
      this.lastFailureAt = this.now();
      throw err;
    } finally {
      this.inflight = undefined;
    }
  }

  private async fetchKeySet(): Promise<JSONWebKeySet> {
    const url = await this.url();
    const response = await fetch(url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new KeySetUnavailableError(`the key set endpoint answered ${response.status}`);
    }
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new KeySetUnavailableError('the key set is too large');
    return publicSigningKeys(JSON.parse(text));
  }
}

/** Keeps the public signing keys of a JWKS document; throws when none is left. */
export function publicSigningKeys(document: unknown): JSONWebKeySet {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new KeySetUnavailableError('the document is not a key set');
  const usable: JWK[] = [];
  for (const candidate of keys as unknown[]) {
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) continue;
    const jwk: Record<string, unknown> = { ...candidate };
    if (typeof jwk.kty !== 'string' || !ASYMMETRIC_KEY_TYPES.has(jwk.kty)) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    for (const member of PRIVATE_MEMBERS) delete jwk[member];
    usable.push(jwk as unknown as JWK);
  }
  if (usable.length === 0)
    throw new KeySetUnavailableError('the key set has no public signing key');
  return { keys: usable };
}
