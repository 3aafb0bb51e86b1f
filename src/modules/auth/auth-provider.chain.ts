import { hash } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { estimateHeapBytes } from 'src/core/cache/heap-bytes';
import { LruTtlCache } from 'src/core/cache/lru-ttl-cache';
import { BoardsConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';
import { DomainError } from 'src/core/errors/domain-error';
import { MetricsService } from 'src/core/metrics/metrics.service';
import {
  REJECTION_STAGES,
  TokenRejectedError,
  invalidToken,
  missingCredentials,
  type TokenRejection,
} from './auth.errors';
import type { BearerToken } from './auth-strategies';
import { parseUnverified } from './jwt-verification';
import { developmentPrincipal } from './principal.factory';

const BEARER = /^Bearer(?: +(.*))?$/i;
const VERIFIED_TOKEN_TTL_MS = 60_000;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
/**
 * What a cached principal holds besides its claims and key: the entry, the Map slot, the
 * principal object itself (its strings are the claims' own).
 */
const PRINCIPAL_OVERHEAD_BYTES = 256;
/**
 * A principal weighing more than this is verified on every request rather than cached: a
 * 16 KiB token of ordinary claims weighs about 20 KiB, only odd shapes (thousands of tiny
 * objects) weigh more, and none may push a large share of the cache out at once.
 */
const MAX_ENTRY_BYTES = 64 * 1024;

/**
 * The parts of authentication around passport. Before it: `none` answers the fixed development
 * principal; the Authorization header must be `Bearer <token68>`; a token verified recently is
 * answered from the cache; the token is parsed once (size, compact form, JSON objects, `alg`, no
 * `crit`) for the strategies to share. After it: a verified principal is cached, and when every
 * provider of the chain refused, the reason reported is that of the provider the token got
 * furthest with (algorithm accepted, then issuer accepted), the earlier one on a tie.
 */
@Injectable()
export class AuthProviderChain {
  private readonly logger = new Logger('Auth');
  private readonly development: Principal | undefined;
  /**
   * Verified principals by the SHA-256 of their token (the token itself is not kept), bounded by
   * entries and by estimated bytes (BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES, _MAX_BYTES): large
   * tokens cost verifications, never unbounded heap. Size both for every token seen within the
   * TTL: an LRU smaller than a cyclic working set misses on every access.
   */
  private readonly verified: LruTtlCache<Principal>;

  constructor(
    private readonly config: BoardsConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const { auth } = config;
    this.verified = new LruTtlCache<Principal>(auth.tokenCache.maxEntries, VERIFIED_TOKEN_TTL_MS, {
      bytes: {
        maxBytes: auth.tokenCache.maxBytes,
        maxEntryBytes: MAX_ENTRY_BYTES,
        sizeOf: (key, principal) =>
          key.length + PRINCIPAL_OVERHEAD_BYTES + estimateHeapBytes(principal.claims),
      },
    });
    this.development = auth.providers.includes('none') ? developmentPrincipal(auth) : undefined;
  }

  /**
   * The principal when it is known without passport (`none`, or a token verified recently), or
   * the parsed bearer token for the strategies; throws the 401 DomainError for a missing or
   * malformed one.
   */
  begin(authorization: string | undefined): Principal | PendingToken {
    if (this.development) return this.development;
    const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
    if (!match) throw this.rejected('missing_token');
    const token = match[1]?.trim() ?? '';
    if (!TOKEN68.test(token)) throw this.rejected('malformed token');

    const cacheKey = digest(token);
    const known = this.verified.get(cacheKey);
    if (known) return known;
    try {
      return { token, parsed: parseUnverified(token), cacheKey };
    } catch (err) {
      throw this.rejected(err instanceof TokenRejectedError ? err.reason : 'malformed token');
    }
  }

  /**
   * A verified token is remembered (by the digest of its exact text) until it expires, at most
   * VERIFIED_TOKEN_TTL_MS, so a client repeating its token is not verified again on every
   * request. A key withdrawn from a JWKS stops tokens it signed within that time.
   */
  accept(pending: PendingToken, principal: Principal): void {
    const exp = principal.claims.exp;
    if (typeof exp !== 'number') return;
    const ttlMs = exp * 1000 - Date.now();
    if (ttlMs > 0) this.verified.set(pending.cacheKey, principal, ttlMs);
  }

  /**
   * The 401 when passport refused the token: `err` when a strategy errored, else `info`, the
   * refusal of the one provider or those of the whole chain (an array, in the chain's order).
   */
  refuse(err: unknown, info: unknown): DomainError {
    if (err instanceof DomainError) return err;
    const refusals = err ? [err] : Array.isArray(info) ? (info as unknown[]) : [info];
    let failure: TokenRejectedError | undefined;
    for (const refusal of refusals) {
      const rejection =
        refusal instanceof TokenRejectedError
          ? refusal
          : new TokenRejectedError('invalid token', 'verification', refusal);
      if (!failure || progress(rejection) > progress(failure)) failure = rejection;
    }
    const rejection = failure ?? new TokenRejectedError('invalid token');
    if (rejection.cause !== undefined) {
      this.logger.warn({ err: rejection.cause }, `token rejected: ${rejection.reason}`);
    }
    return this.rejected(rejection.reason);
  }

  /** Entries and estimated bytes of the verified-token cache. */
  get cacheUsage(): { entries: number; bytes: number } {
    return { entries: this.verified.size, bytes: this.verified.bytes };
  }

  /** The 401 for a refused request, counted in boards_auth_failures_total{reason}. */
  private rejected(reason: TokenRejection | 'missing_token'): DomainError {
    this.metrics?.authFailures.inc({ reason: reason.replace(/ /g, '_') });
    return reason === 'missing_token' ? missingCredentials() : invalidToken(reason);
  }
}

/** A bearer token passport is about to verify, with its cache key. */
export interface PendingToken extends BearerToken {
  readonly cacheKey: string;
}

/**
 * The cache key of a token: its SHA-256 (43 characters, whatever the token's length; a
 * collision would need a second token with the same digest). About a microsecond per request.
 */
function digest(token: string): string {
  return hash('sha256', token, 'base64url');
}

function progress(rejection: TokenRejectedError): number {
  return REJECTION_STAGES.indexOf(rejection.stage);
}
