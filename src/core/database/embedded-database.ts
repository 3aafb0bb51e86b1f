import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { Extensions, PGlite } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock';

export { EMBEDDED_LOCK_FILE, EmbeddedDatabaseLockedError } from './data-dir-lock';

/** The pg-compatible result shape TypeORM reads (rows, rowCount, command). */
interface QueryResultLike {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: unknown[];
}

type Release = (err?: unknown) => void;
type ConnectCallback = (err: Error | null, client: EmbeddedClient | null, release: Release) => void;

const ACQUIRE_TIMEOUT_MS = 30_000;

/** Carried by every embedded stand-in pool, so that it is never taken for a pg Pool. */
export const EMBEDDED_POOL = Symbol('boards.embeddedPool');

/** Whether `value` is a pool of the embedded database (see EMBEDDED_POOL). */
export function isEmbeddedPool(value: unknown): boolean {
  return typeof value === 'object' && value !== null && EMBEDDED_POOL in value;
}

/**
 * The embedded PostgreSQL (PGlite) for development. PGlite is a single session, so this class
 * lends it to one borrower (one TypeORM query runner, which is one transaction) at a time: without
 * that, concurrent requests would interleave BEGIN/COMMIT and each other's tenant settings.
 *
 * PGlite's only user is a superuser, for whom row-level security does nothing. Each borrower names
 * the role it acts as; the runtime data source borrows as the runtime role (`SET ROLE`), so RLS
 * applies exactly as on a real server. Migrations borrow as the superuser (role `null`).
 */
export class EmbeddedDatabase {
  private queue: Promise<void> = Promise.resolve();
  private currentRole: string | null = null;

  private constructor(
    readonly pglite: PGlite,
    private readonly unlock: () => void,
  ) {}

  /**
   * Opens (creating on first use) the data folder; `memory://` keeps everything in memory. A
   * folder is opened by one process at a time (EMBEDDED_LOCK_FILE): PGlite is a single session
   * and two processes writing one folder would lose each other's work or corrupt it.
   */
  static async open(dataDir: string): Promise<EmbeddedDatabase> {
    const inMemory = dataDir.startsWith('memory://');
    let unlock = () => undefined as void;
    if (!inMemory) {
      mkdirSync(dataDir, { recursive: true });
      unlock = await lockDataDir(dataDir);
    }
    try {
      const { PGlite } = await import('@electric-sql/pglite');
      // The extensions the migrations create (trigram search indexes that lead with tenant_id).
      const extensions: Extensions = {};
      for (const name of ['pg_trgm', 'btree_gin']) {
        const contrib = (await import(`@electric-sql/pglite/contrib/${name}`)) as Extensions;
        extensions[name] = contrib[name];
      }
      const pglite = await PGlite.create(dataDir, { extensions });
      return new EmbeddedDatabase(pglite, unlock);
    } catch (err) {
      unlock();
      throw err;
    }
  }

  /** A `pg` module stand-in for TypeORM's `driver` option; borrowers act as `role`. */
  driverFor(role: string | null): { Pool: new () => EventEmitter } {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const database = this;
    return {
      Pool: class EmbeddedPool extends EventEmitter {
        readonly [EMBEDDED_POOL] = true;

        connect(callback?: ConnectCallback): Promise<EmbeddedClient> | undefined {
          const lent = database.lend(role);
          if (!callback) return lent.then(({ client }) => client);
          lent.then(
            ({ client, release }) => callback(null, client, release),
            (err: Error) => callback(err, null, () => undefined),
          );
          return undefined;
        }

        async query(sql: string, params?: unknown[]): Promise<QueryResultLike> {
          const { client, release } = await database.lend(role);
          try {
            return await client.query(sql, params);
          } finally {
            release();
          }
        }

        end(callback?: (err?: Error) => void): void {
          // The instance outlives the pools that borrow it; EmbeddedDatabase.close() ends it.
          callback?.();
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (!this.pglite.closed) await this.pglite.close();
    this.unlock();
  }

  private async lend(role: string | null): Promise<{ client: EmbeddedClient; release: Release }> {
    let releaseTurn!: () => void;
    const myTurn = new Promise<void>((resolve) => (releaseTurn = resolve));
    const previous = this.queue;
    this.queue = previous.then(() => myTurn);

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('embedded database busy: waited 30 s for the session')),
        ACQUIRE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([previous, timedOut]);
    } catch (err) {
      // Give up our turn without blocking the ones queued behind it.
      void previous.then(releaseTurn);
      throw err;
    } finally {
      clearTimeout(timer);
    }

    try {
      await this.actAs(role);
    } catch (err) {
      releaseTurn();
      throw err;
    }
    let released = false;
    const release: Release = (err) => {
      if (released) return;
      released = true;
      // A borrower that fails mid-transaction must not leave it open for the next one.
      const cleanup = err ? this.pglite.exec('ROLLBACK').then(() => undefined) : Promise.resolve();
      void cleanup.catch(() => undefined).finally(releaseTurn);
    };
    return { client: new EmbeddedClient(this.pglite, release), release };
  }

  private async actAs(role: string | null): Promise<void> {
    if (role === this.currentRole) return;
    await this.pglite.exec(role === null ? 'RESET ROLE' : `SET ROLE ${quoteIdent(role)}`);
    this.currentRole = role;
  }
}

/** One borrowed use of the session, shaped like a `pg` client for TypeORM. */
class EmbeddedClient extends EventEmitter {
  constructor(
    private readonly pglite: PGlite,
    private readonly handBack: Release,
  ) {
    super();
  }

  async query(sql: string, params?: unknown[]): Promise<QueryResultLike> {
    if (params && params.length > 0) {
      const result = await this.pglite.query(sql, params);
      return toResult(sql, result);
    }
    // Without parameters the simple protocol runs multi-statement text (migrations).
    const results = await this.pglite.exec(sql);
    const last = results[results.length - 1];
    return last
      ? toResult(sql, last)
      : { rows: [], rowCount: 0, command: commandOf(sql), fields: [] };
  }

  /** Hands the session back, as `pg`'s client.release() does (promise-style connect()). */
  release(err?: unknown): void {
    this.handBack(err);
  }
}

function toResult(
  sql: string,
  result: {
    rows: unknown[];
    fields: unknown[];
    affectedRows?: number;
    command?: string;
    rowCount?: number;
  },
): QueryResultLike {
  const command = result.command ?? commandOf(sql);
  const rowCount =
    result.rowCount ?? (command === 'SELECT' ? result.rows.length : (result.affectedRows ?? 0));
  return { rows: result.rows, rowCount, command, fields: result.fields };
}

function commandOf(sql: string): string {
  return (/^\s*([A-Za-z]+)/.exec(sql)?.[1] ?? '').toUpperCase();
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
