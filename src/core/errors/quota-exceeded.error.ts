import { DomainError } from './domain-error';
import { ErrorCode } from './error-code';

/** SQLSTATE of a quota refusal raised by the usage triggers (migration 1765238400000). */
export const QUOTA_SQLSTATE = 'BQ100';

const QUOTA_WORDS: Record<string, string> = {
  boards: 'boards in this organization',
  generations_per_board: 'generations on one board',
  members_per_board: 'members of one board',
  stored_bytes: 'bytes of stored text and JSON in this organization',
};

/** A write that would take one of the tenant's quotas past its limit: 403 `quota_exceeded`. */
export class QuotaExceededError extends DomainError<ErrorCode.Forbidden> {
  constructor(
    readonly quota: string,
    readonly limit: number,
  ) {
    super(
      ErrorCode.Forbidden,
      'quota_exceeded',
      `Quota exceeded: at most ${limit} ${QUOTA_WORDS[quota] ?? quota}. Delete some, or ask the platform administrator to raise the quota.`,
      { quota, limit },
    );
    this.name = 'QuotaExceededError';
  }

  /** The error for a trigger's refusal (message: the quota's name; detail: its limit). */
  static fromDriverError(driverError: { message?: unknown; detail?: unknown }): QuotaExceededError {
    const quota = typeof driverError.message === 'string' ? driverError.message : 'unknown';
    const limit = Number(driverError.detail);
    return new QuotaExceededError(quota, Number.isFinite(limit) ? limit : 0);
  }
}
