import { MigrationExecutor, type DataSource, type QueryRunner } from 'typeorm';
import { MIGRATION_NAMES } from 'migrations/index';

export interface MigrationStatus {
  readonly name: string;
  readonly applied: boolean;
}

/** One lock for everyone migrating this database, so concurrent replicas take turns. */
const MIGRATION_LOCK_KEY = 7_266_039_414_870_537;

/**
 * Runs the reviewed SQL migrations with the owner connection. The migrating session carries the
 * runtime role's name (`boards.runtime_role`), which the migrations grant privileges to.
 */
export class MigrationRunner {
  constructor(
    private readonly owner: DataSource,
    private readonly runtimeRole: string,
  ) {}

  /** Applies pending migrations; returns their names. */
  up(): Promise<string[]> {
    return this.withSession(async (executor) => {
      const applied = await executor.executePendingMigrations();
      return applied.map((migration) => migration.name);
    });
  }

  /** Reverts the last applied migration; returns its name, or undefined when none was applied. */
  down(): Promise<string | undefined> {
    return this.withSession(async (executor) => {
      const executed = await executor.getExecutedMigrations();
      if (executed.length === 0) return undefined;
      const last = executed.reduce((a, b) => (a.timestamp > b.timestamp ? a : b));
      await executor.undoLastMigration();
      return last.name;
    });
  }

  status(): Promise<MigrationStatus[]> {
    return this.withSession(async (executor) => {
      const executed = new Set((await executor.getExecutedMigrations()).map((m) => m.name));
      return MIGRATION_NAMES.map((name) => ({ name, applied: executed.has(name) }));
    });
  }

  private async withSession<T>(work: (executor: MigrationExecutor) => Promise<T>): Promise<T> {
    const session: QueryRunner = this.owner.createQueryRunner();
    await session.connect();
    try {
      await session.query(`SELECT set_config('boards.runtime_role', $1, false)`, [
        this.runtimeRole,
      ]);
      await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        const executor = new MigrationExecutor(this.owner, session);
        executor.transaction = 'all';
        return await work(executor);
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      await session.release();
    }
  }
}
