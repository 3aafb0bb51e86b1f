import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** Seconds a client is told to wait when its tenant's share of the database is in use. */
export const TENANT_BUSY_RETRY_AFTER_SECONDS = 1;

/** The tenant holds its whole share of the pool and waited past the queue time: 429. */
export class TenantBusyError extends DomainError {
  constructor() {
    super(
      ErrorCode.RateLimited,
      "Your organization's requests are using all of its share of the database; retry shortly.",
      { code: 'tenant_busy' },
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
