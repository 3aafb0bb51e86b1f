import {
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DATABASE_TIMEOUT_MS, HealthIndicators, withTimeout } from './health-indicators';

/** One completed run of the dependency checks. */
interface Snapshot {
  readonly checks: readonly HealthIndicatorResult[];
  readonly completedAt: number;
}

/**
 * Runs the readiness checks (database, Redis, migrations, isolation) in the background every
 * BOARDS_READINESS_REFRESH_MS and keeps the last result, so /health/ready costs no database round
 * trip however often it is probed. A run starts only after the previous one has finished. When no
 * run has completed within `staleAfterMs` (three intervals plus the check timeout: the refresher
 * hangs), the answer carries a failing `checks` entry, so a stuck instance does not stay ready.
 * Draining is not its business: the controller reads it on every request. CLI commands (no HTTP
 * server) start no refresher.
 */
@Injectable()
export class ReadinessMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly intervalMs: number;
  readonly staleAfterMs: number;
  private last: Snapshot | undefined;
  private inFlight: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly indicators: HealthIndicators,
    config: BoardsConfig,
  ) {
    this.intervalMs = config.observability.readinessRefreshMs;
    this.staleAfterMs = 3 * this.intervalMs + DATABASE_TIMEOUT_MS;
  }

  onApplicationBootstrap(): void {
    if (!this.adapterHost.httpAdapter) return;
    this.loop();
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The checks to answer with, in the order of the response body. Until the first run has
   * completed, waits for it (bounded by the staleness limit).
   */
  async current(): Promise<readonly HealthIndicatorResult[]> {
    const snapshot =
      this.last ?? (await withTimeout(this.refresh(), this.staleAfterMs).catch(() => undefined));
    if (!snapshot) return [stale('the readiness checks have not completed yet')];
    const ageMs = Date.now() - snapshot.completedAt;
    if (ageMs <= this.staleAfterMs) return snapshot.checks;
    return [
      ...snapshot.checks,
      stale(`the readiness checks last completed ${ageMs} ms ago (limit ${this.staleAfterMs} ms)`),
    ];
  }

  /** One run of the checks; a call while one runs joins it. */
  private refresh(): Promise<Snapshot> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async run(): Promise<Snapshot> {
    const checks = await Promise.all([
      this.indicators.database(),
      this.indicators.redis(),
      this.indicators.migrations(),
      this.indicators.isolation(),
    ]);
    this.last = { checks, completedAt: Date.now() };
    return this.last;
  }

  private loop(): void {
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.loop(), this.intervalMs);
      this.timer.unref();
    };
    this.refresh().then(next, next);
  }
}

function stale(message: string): HealthIndicatorResult {
  return { checks: { status: 'down', message } };
}
