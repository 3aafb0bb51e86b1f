import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { CompactClock, compactMs } from 'src/core/runtime/compact-ms';

/** Seconds a client is told to wait when its tenant's share of the database is in use. */
export const TENANT_BUSY_RETRY_AFTER_SECONDS = 1;

/** The tenant holds its whole share of the pool and waited past the queue time: 429. */
export class TenantBusyError extends DomainError<ErrorCode.RateLimited> {
  constructor() {
    super(
      ErrorCode.RateLimited,
      'tenant_busy',
      "Your organization's requests are using all of its share of the database; retry shortly.",
      {},
      { 'Retry-After': String(TENANT_BUSY_RETRY_AFTER_SECONDS) },
    );
  }
}

interface Waiter {
  readonly grant: () => void;
  readonly timer: NodeJS.Timeout | undefined;
}

interface Share {
  held: number;
  readonly waiting: Waiter[];
}

/**
 * At most `perTenant` connections of a process's pool held by one tenant at once: the others
 * always find one free. A request over its tenant's share waits (first come, first served) up to
 * `queueMs`, then fails with TenantBusyError. Per process, in memory: the pool is per process too.
 */
export class TenantPoolShare {
  private readonly shares = new Map<string, Share>();
  /** Rejections since start, for the metrics. */
  rejected = 0;

  constructor(
    readonly perTenant: number,
    private readonly queueMs: number,
  ) {}

  static fromPool(poolSize: number, percent: number, queueMs: number): TenantPoolShare {
    return new TenantPoolShare(Math.max(1, Math.floor((poolSize * percent) / 100)), queueMs);
  }

  /** Resolves with a release function once the tenant has a free place in its share. */
  acquire(tenantId: string): Promise<() => void> | (() => void) {
    let share = this.shares.get(tenantId);
    if (!share) {
      share = { held: 0, waiting: [] };
      this.shares.set(tenantId, share);
    }
    if (share.held < this.perTenant) {
      share.held++;
      return this.releaserFor(tenantId, share);
    }
    const queued = share;
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          if (waiter.timer) clearTimeout(waiter.timer);
          resolve(this.releaserFor(tenantId, queued));
        },
        timer:
          this.queueMs > 0
            ? setTimeout(() => {
                const index = queued.waiting.indexOf(waiter);
                if (index >= 0) queued.waiting.splice(index, 1);
                this.rejected++;
                reject(new TenantBusyError());
              }, this.queueMs)
            : undefined,
      };
      if (this.queueMs === 0) {
        this.rejected++;
        reject(new TenantBusyError());
        return;
      }
      queued.waiting.push(waiter);
    });
  }

  /** Connections the tenant holds now (for tests and metrics). */
  heldBy(tenantId: string): number {
    return this.shares.get(tenantId)?.held ?? 0;
  }

  private releaserFor(tenantId: string, share: Share): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = share.waiting.shift();
      if (next) {
        next.grant(); // the place passes on; `held` stays the same
        return;
      }
      share.held--;
      if (share.held === 0) this.shares.delete(tenantId);
    };
  }
}

/** The tenant spent its search time for now: 429 until the budget refills. */
export class SearchBudgetError extends DomainError<ErrorCode.RateLimited> {
  constructor(retryAfterSeconds: number) {
    super(
      ErrorCode.RateLimited,
      'search_budget_exhausted',
      `Your organization's searches have used their share of database time; retry in ${retryAfterSeconds} s.`,
      {},
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}

/** The tenant's list pages have carried their share of bytes for now: 429 until it refills. */
export class ListBudgetError extends DomainError<ErrorCode.RateLimited> {
  constructor(retryAfterSeconds: number) {
    super(
      ErrorCode.RateLimited,
      'list_budget_exhausted',
      `Your organization's list pages have carried their share of data for now; retry in ${retryAfterSeconds} s.`,
      {},
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}

interface Bucket {
  /** Units left to spend (negative: in debt). */
  available: number;
  /** When it was last refilled, on the budget's CompactClock. */
  at: number;
}

/**
 * A per-tenant token bucket of a cost (milliseconds of database time, bytes of list pages): it
 * refills at `perSecond` up to `burst`; work may start while the tenant is not in debt and is
 * charged its cost when it ends. A tenant whose searches read all of its large boards, or whose
 * pages carry megabytes, gets a steady share of the machine, not all of it; ordinary use never
 * notices. Per process, in memory.
 */
export class TenantBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: CompactClock;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly refusal: (retryAfterSeconds: number) => Error,
    now: () => number = Date.now,
  ) {
    this.clock = new CompactClock(now, (delta) => {
      for (const bucket of this.buckets.values()) bucket.at = compactMs(bucket.at - delta);
    });
  }

  /** Throws the refusal while the tenant is in debt. */
  check(tenantId: string): void {
    const bucket = this.refilled(tenantId);
    if (bucket.available < 0) {
      throw this.refusal(Math.max(1, Math.ceil(-bucket.available / this.perSecond)));
    }
  }

  spend(tenantId: string, cost: number): void {
    this.refilled(tenantId).available -= cost;
  }

  /** What the tenant may spend now (for tests). */
  availableTo(tenantId: string): number {
    return this.refilled(tenantId).available;
  }

  private refilled(tenantId: string): Bucket {
    const now = this.clock.now();
    let bucket = this.buckets.get(tenantId);
    if (!bucket) {
      bucket = { available: this.burst, at: now };
      this.buckets.set(tenantId, bucket);
      if (this.buckets.size > 100_000) this.forgetFull(now);
    }
    bucket.available = Math.min(
      this.burst,
      bucket.available + ((now - bucket.at) * this.perSecond) / 1000,
    );
    bucket.at = now;
    return bucket;
  }

  /** Full buckets carry no state worth keeping. */
  private forgetFull(now: number): void {
    for (const [tenantId, bucket] of this.buckets) {
      if (bucket.available + ((now - bucket.at) * this.perSecond) / 1000 >= this.burst) {
        this.buckets.delete(tenantId);
      }
    }
  }
}

/** Database time of one route class as a TenantBudget: `start` checks, its result charges. */
export class TenantTimeBudget {
  private readonly budget: TenantBudget;

  constructor(
    msPerSecond: number,
    burstMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.budget = new TenantBudget(
      msPerSecond,
      burstMs,
      (retryAfter) => new SearchBudgetError(retryAfter),
      now,
    );
  }

  /** Throws SearchBudgetError while the tenant is in debt; returns the charge to call at the end. */
  start(tenantId: string): () => void {
    this.budget.check(tenantId);
    const started = this.now();
    let charged = false;
    return () => {
      if (charged) return;
      charged = true;
      this.budget.spend(tenantId, this.now() - started);
    };
  }

  availableTo(tenantId: string): number {
    return this.budget.availableTo(tenantId);
  }
}
