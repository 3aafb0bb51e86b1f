import { appliedMigrations, pingDatabase } from 'src/core/database/database-probes';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { MIGRATION_NAMES } from 'migrations/index';
import { BoardsConfig } from 'src/core/config/boards-config';
import { IsolationInspector } from 'src/core/database/isolation-inspector';
import { RedisConnection } from 'src/core/redis/redis.module';
import { ShutdownState } from './shutdown-state';

/** The longest any one check waits for the database (the summary's queries use it too). */
export const DATABASE_TIMEOUT_MS = 2_000;

/** The readiness indicators. Failures carry a short, safe message, never driver text. */
@Injectable()
export class HealthIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly config: BoardsConfig,
    private readonly dataSource: DataSource,
    private readonly redisConnection: RedisConnection,
    private readonly inspector: IsolationInspector,
    private readonly shutdown: ShutdownState,
  ) {}

  accepting(): HealthIndicatorResult {
    const check = this.indicators.check('server');
    return this.shutdown.draining ? check.down({ message: 'shutting down' }) : check.up();
  }

  async database(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('database');
    try {
      await withTimeout(pingDatabase(this.dataSource), DATABASE_TIMEOUT_MS);
      return check.up({ embedded: this.config.usesEmbeddedDatabase });
    } catch {
      return check.down({ message: 'database unreachable' });
    }
  }

  async redis(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('redis');
    if (!this.redisConnection.configured) return check.up({ configured: false });
    try {
      await this.redisConnection.ping();
      return check.up({ configured: true });
    } catch {
      return check.down({ message: 'redis unreachable' });
    }
  }

  async migrations(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('migrations');
    try {
      const pending = await this.pendingMigrations();
      return pending.length === 0
        ? check.up({ applied: MIGRATION_NAMES.length })
        : check.down({ message: 'migrations pending', pending });
    } catch {
      return check.down({ message: 'migrations table not readable' });
    }
  }

  /** In production a degraded isolation configuration makes the instance unready. */
  async isolation(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('isolation');
    try {
      const report = await withTimeout(this.inspector.inspect(), DATABASE_TIMEOUT_MS);
      const details = {
        isolation_status: report.status,
        runtime_role: report.runtimeRole,
        problems: report.problems,
      };
      return report.status === 'ok' || !this.config.isProduction
        ? check.up(details)
        : check.down(details);
    } catch {
      return check.down({ message: 'isolation configuration could not be read' });
    }
  }

  async pendingMigrations(): Promise<string[]> {
    const applied = await withTimeout(appliedMigrations(this.dataSource), DATABASE_TIMEOUT_MS);
    return MIGRATION_NAMES.filter((name) => !applied.has(name));
  }
}

export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
