import { AsyncLocalStorage } from 'node:async_hooks';
import { ClsService } from 'nestjs-cls';
import { Client, type Pool, type PoolClient } from 'pg';
import { QueryFailedError, type DataSource } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { likePattern } from 'src/common/pagination';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { TenantContextMissingError } from 'src/core/errors/domain-error';
import {
  createTenant,
  inTenant,
  insertBoard,
  insertUser,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';
import { loadConfig } from 'src/core/config/boards-config';
import { seededRandom } from 'test/factories/random';
import { runtimePgPool } from 'src/core/database/driver-internals';

/**
 * TenantTransactions.read outside an open tenant transaction: on a connection checked out of the
 * runtime pool, `START TRANSACTION READ ONLY; SELECT set_config('app.tenant_id', …, true)`, then
 * `<sql>` with bound parameters as a named prepared statement, then `COMMIT`, all pipelined in one
 * round trip. Row-level security must confine every read to its tenant, the transaction must
 * refuse writes, and every connection must go back to the pool outside a transaction and without
 * a tenant, whether the read succeeded, failed in SQL, was cancelled or lost its connection. Needs
 * a real server: the embedded database falls back to an ordinary tenant transaction.
 */

const POOL_SIZE = 2;
const TENANTS = 10;
const READS = 500;
const CONCURRENCY = 20;
const CONCURRENT_POOL_SIZE = 3;

/** A title with quotes, a backslash and a %, and a decoy that an unescaped % would match. */
const TRICKY_TITLE = "O'Brien \\ 100% done";
const DECOY_TITLE = "O'Brien \\ 1000 done";

const BOARDS_SQL = 'SELECT tenant_id, id FROM boards';
const SETTING_SQL = `SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant,
  current_setting('transaction_read_only') AS read_only`;

interface BoardRow {
  readonly tenant_id: string;
  readonly id: string;
}

interface SettingRow {
  readonly pid: number;
  readonly tenant: string | null;
  readonly read_only: string;
}

/** One pooled connection as it was handed back: protocol state, tenant setting, read-only mode. */
interface PooledConnection {
  readonly pid: number;
  readonly status: string | null;
  readonly tenant: string;
  readonly readOnly: string;
}

/** The pg pool behind a TypeORM PostgreSQL data source (the one read() checks clients out of). */
function poolOf(dataSource: DataSource): Pool {
  return requirePgPool(dataSource);
}

/**
 * Checks out `size` connections at once (so every pooled one, when the pool holds `size`) and
 * reports each: the transaction status of the last ReadyForQuery it received ('I' = idle, outside
 * a transaction), then its tenant setting and read-only mode.
 */
async function pooledConnections(pool: Pool, size: number): Promise<PooledConnection[]> {
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  try {
    return await Promise.all(
      clients.map(async (client) => {
        const status = client.getTransactionStatus();
        const { rows } = await client.query<SettingRow>(SETTING_SQL);
        return {
          pid: rows[0].pid,
          status,
          tenant: rows[0].tenant ?? '',
          readOnly: rows[0].read_only,
        };
      }),
    );
  } finally {
    for (const client of clients) client.release();
  }
}

/**
 * Runs `work` with a last-resort 'error' listener on every client checked out of `target`, and
 * returns the errors it was the only listener for: without it each would have been an unhandled
 * 'error' event on a pg client, which ends the Node process.
 */
async function unhandledClientErrors(target: Pool, work: () => Promise<void>): Promise<Error[]> {
  const unhandled: Error[] = [];
  const guarded = new Map<PoolClient, (err: Error) => void>();
  const guard = (client: PoolClient) => {
    if (guarded.has(client)) return;
    const listener = (err: Error) => {
      if (client.listenerCount('error') === 1) unhandled.push(err);
    };
    guarded.set(client, listener);
    client.on('error', listener);
  };
  target.on('acquire', guard);
  try {
    await work();
  } finally {
    target.removeListener('acquire', guard);
    for (const [client, listener] of guarded) client.removeListener('error', listener);
  }
  return unhandled;
}

/** Fails unless `promise` rejects; returns the rejection. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Expects TypeORM's QueryFailedError wrapping the pg error with SQLSTATE `code`. */
function expectQueryFailed(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(QueryFailedError);
  const failure = err as QueryFailedError<Error & { code?: string }>;
  expect(failure.driverError.code).toBe(code);
}

describeWithPostgres(
  'TenantTransactions.read: a read-only tenant transaction in one round trip',
  () => {
    let db: TestDatabase;
    let admin: Client;
    let tenants: SeededTenant[];
    let owners: string[];
    /** Board ids per tenant id, as seeded. */
    let seeded: Map<string, string[]>;
    let transactions: TenantTransactions;
    let pool: Pool;
    let tenantA: SeededTenant;
    let tenantB: SeededTenant;

    const newTransactions = (dataSource: DataSource, env: Record<string, string> = {}) =>
      new TenantTransactions(dataSource, new ClsService(new AsyncLocalStorage()), loadConfig(env));

    const boardsOf = (tenant: SeededTenant) => [...(seeded.get(tenant.id) ?? [])].sort();

    /** What the superuser (no RLS) sees in boards, for the given tenants. */
    const groundTruth = async (ids: string[]) => {
      const { rows } = await admin.query<BoardRow & { title: string }>(
        `SELECT tenant_id::text AS tenant_id, id::text AS id, title FROM boards
        WHERE tenant_id = ANY($1::uuid[]) ORDER BY id`,
        [ids],
      );
      return rows;
    };

    /**
     * Every connection of `target` (of `size`) is idle outside a transaction with no tenant setting
     * and not read-only, and the server shows no runtime-role session inside a transaction.
     * Returns the pooled connections' backend pids.
     */
    const expectCleanPool = async (target: Pool, size: number): Promise<number[]> => {
      const connections = await pooledConnections(target, size);
      expect(new Set(connections.map((c) => c.pid)).size).toBe(size);
      expect(
        connections.map(({ status, tenant, readOnly }) => ({ status, tenant, readOnly })),
      ).toEqual(Array.from({ length: size }, () => ({ status: 'I', tenant: '', readOnly: 'off' })));
      const { rows } = await admin.query<{ pid: number; state: string }>(
        `SELECT pid, state FROM pg_stat_activity
        WHERE usename = $1 AND datname = current_database() AND state <> 'idle'`,
        [db.runtimeRole],
      );
      expect(rows).toEqual([]);
      expect(target.totalCount).toBeLessThanOrEqual(size);
      return connections.map((c) => c.pid).sort();
    };

    /** The pid of the runtime-role session running a statement that contains `marker`. */
    const activePid = async (marker: string): Promise<number> => {
      for (let attempt = 0; attempt < 250; attempt++) {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
          WHERE usename = $1 AND state = 'active' AND position($2 in query) > 0`,
          [db.runtimeRole, marker],
        );
        if (rows.length === 1) return rows[0].pid;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no active statement containing ${marker}`);
    };

    /**
     * A read of tenant A that the server terminates (pg_terminate_backend) while it runs. Returns
     * its rejection, the terminated backend's pid and the client errors no one else listened for.
     */
    const terminateDuringRead = async () => {
      const marker = uniqueMarker('terminate').replace('-', '_');
      let failure: unknown;
      let pid = 0;
      const unhandled = await unhandledClientErrors(pool, async () => {
        const reading = rejection(
          transactions.read(tenantA.id, `SELECT pg_sleep(30)::text AS ${marker}`, []),
        );
        pid = await activePid(marker);
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        failure = await reading;
      });
      return { failure, pid, unhandled };
    };

    beforeAll(async () => {
      db = await createTestDatabase({ poolSize: POOL_SIZE });
      const run = uniqueMarker('read');
      tenants = [];
      owners = [];
      seeded = new Map();
      for (let i = 0; i < TENANTS; i++) {
        const tenant = await createTenant(db.owner, `${run}-t${i}`);
        const titles = Array.from({ length: 2 + (i % 4) }, (_, n) => `${tenant.slug}/seed/${n}`);
        // A holds the searched title and its decoy; B holds the searched title too.
        if (i === 0) titles.push(TRICKY_TITLE, DECOY_TITLE);
        if (i === 1) titles.push(TRICKY_TITLE);
        const { ownerId, boardIds } = await inTenant(db.runtime, tenant.id, async (runner) => {
          const ownerId = await insertUser(runner, `${tenant.slug}-owner`);
          const boardIds: string[] = [];
          for (const title of titles) {
            boardIds.push(await insertBoard(runner, ownerId, title, tenant.slug));
          }
          return { ownerId, boardIds };
        });
        tenants.push(tenant);
        owners.push(ownerId);
        seeded.set(tenant.id, boardIds);
      }
      [tenantA, tenantB] = tenants;

      admin = new Client({ connectionString: adminUrlOf(db) });
      await admin.connect();

      transactions = newTransactions(db.runtime);
      pool = poolOf(db.runtime);
    }, 120_000);

    afterAll(async () => {
      await admin?.end();
      await db?.drop();
    });

    it('runs on a small pool of the real server', () => {
      expect(db.embedded).toBe(false);
      expect((db.runtime.options as PostgresDataSourceOptions).poolSize).toBe(POOL_SIZE);
      expect(pool.options.max).toBe(POOL_SIZE);
    });

    describe('isolation', () => {
      it("A's read sees only A's boards and B's only B's, with no tenant condition in the SQL", async () => {
        const rowsA = await transactions.read<BoardRow>(tenantA.id, BOARDS_SQL, []);
        const rowsB = await transactions.read<BoardRow>(tenantB.id, BOARDS_SQL, []);

        expect(rowsA.map((row) => row.id).sort()).toEqual(boardsOf(tenantA));
        expect(new Set(rowsA.map((row) => row.tenant_id))).toEqual(new Set([tenantA.id]));
        expect(rowsB.map((row) => row.id).sort()).toEqual(boardsOf(tenantB));
        expect(new Set(rowsB.map((row) => row.tenant_id))).toEqual(new Set([tenantB.id]));

        // Cross-check: both tenants' rows exist side by side in the same table, as the superuser sees.
        const truth = await groundTruth([tenantA.id, tenantB.id]);
        expect(truth.map((row) => row.id).sort()).toEqual(
          [...boardsOf(tenantA), ...boardsOf(tenantB)].sort(),
        );
        expect(new Set(truth.map((row) => row.tenant_id))).toEqual(
          new Set([tenantA.id, tenantB.id]),
        );
      });

      it('runs in a read-only transaction bound to the tenant, which the runtime role needs to see anything', async () => {
        const [inside] = await transactions.read<SettingRow>(tenantA.id, SETTING_SQL, []);
        expect({ tenant: inside.tenant, readOnly: inside.read_only }).toEqual({
          tenant: tenantA.id,
          readOnly: 'on',
        });
        // The same runtime role on a pooled connection without the setting sees no board at all.
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM boards');
        expect(rows[0].n).toBe(0);
      });

      it('leaves no tenant setting and no open transaction on any pooled connection', async () => {
        const seen = new Set<number>();
        const mismatches: string[] = [];
        let next = 0;
        const worker = async () => {
          while (next < 100) {
            const tenant = next++ % 2 === 0 ? tenantA : tenantB;
            const [row] = await transactions.read<SettingRow>(tenant.id, SETTING_SQL, []);
            seen.add(row.pid);
            if (row.tenant !== tenant.id) mismatches.push(`${tenant.slug} saw ${row.tenant}`);
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));

        expect(mismatches).toEqual([]);
        // Both pooled connections served reads, and they are the ones found clean afterwards.
        expect(seen.size).toBe(POOL_SIZE);
        expect(await expectCleanPool(pool, POOL_SIZE)).toEqual([...seen].sort());
      });

      it('refuses a malformed tenant id before any query', async () => {
        const connect = jest.spyOn(pool, 'connect');
        const createQueryRunner = jest.spyOn(db.runtime, 'createQueryRunner');
        try {
          for (const id of [
            'x',
            '',
            "'; DROP TABLE boards; --",
            `${tenantA.id}', true); SELECT set_config('app.tenant_id', '${tenantB.id}`,
            `${tenantA.id}; SELECT 1`,
            `${tenantA.id}\n`,
            tenantA.id.replace(/-/g, ''),
          ]) {
            await expect(transactions.read(id, BOARDS_SQL, [])).rejects.toBeInstanceOf(
              TenantContextMissingError,
            );
          }
          expect(connect).not.toHaveBeenCalled();
          expect(createQueryRunner).not.toHaveBeenCalled();
        } finally {
          connect.mockRestore();
          createQueryRunner.mockRestore();
        }
        expect(await groundTruth([tenantA.id, tenantB.id])).toHaveLength(
          boardsOf(tenantA).length + boardsOf(tenantB).length,
        );
      });
    });

    describe('read only', () => {
      it.each([
        ['UPDATE', 'UPDATE boards SET title = title RETURNING tenant_id, id', () => []],
        ['DELETE', 'DELETE FROM boards RETURNING tenant_id, id', () => []],
        ['SELECT … FOR UPDATE', `${BOARDS_SQL} FOR UPDATE`, () => []],
        [
          'INSERT',
          'INSERT INTO boards (owner_id, title) VALUES ($1, $2) RETURNING tenant_id, id',
          () => [owners[0], 'intruder'],
        ],
      ])(
        'refuses %s with 25006, changes nothing and hands the connection back healthy',
        async (_, sql, params) => {
          const pidsBefore = await expectCleanPool(pool, POOL_SIZE);
          const before = await groundTruth([tenantA.id]);

          for (let i = 0; i < POOL_SIZE + 1; i++) {
            expectQueryFailed(
              await rejection(transactions.read(tenantA.id, sql, params())),
              '25006',
            );
          }

          expect(await groundTruth([tenantA.id])).toEqual(before);
          const rows = await transactions.read<BoardRow>(tenantA.id, BOARDS_SQL, []);
          expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenantA));
          // The rollback succeeded, so the same connections are still pooled (none was discarded).
          expect(await expectCleanPool(pool, POOL_SIZE)).toEqual(pidsBefore);
        },
      );
    });

    describe('failures', () => {
      it.each([
        ['division by zero', 'SELECT 1/0 AS tenant_id', [], '22012'],
        ['an unknown table', 'SELECT tenant_id FROM no_such_table', [], '42P01'],
        ['a bad cast of a parameter', 'SELECT $1::int AS tenant_id', ['abc'], '22P02'],
      ])(
        'rejects %s with its SQLSTATE, rolls back, and the pool keeps serving each tenant only its rows',
        async (_, sql, params, code) => {
          const pidsBefore = await expectCleanPool(pool, POOL_SIZE);

          const failed = await rejection(transactions.read(tenantA.id, sql, params));
          expectQueryFailed(failed, code);
          expect((failed as QueryFailedError).query).toBe(sql);
          // More failures than connections: a connection left in a failed transaction would make
          // a later read fail with 25P02.
          for (let i = 0; i < POOL_SIZE * 2; i++) {
            expectQueryFailed(await rejection(transactions.read(tenantB.id, sql, params)), code);
          }

          for (let i = 0; i < POOL_SIZE * 2; i++) {
            for (const tenant of [tenantA, tenantB]) {
              const rows = await transactions.read<BoardRow>(tenant.id, BOARDS_SQL, []);
              expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenant));
            }
          }
          expect(await expectCleanPool(pool, POOL_SIZE)).toEqual(pidsBefore);
        },
      );

      it('a cancelled read rejects with 57014 and its connection stays in the pool', async () => {
        const pidsBefore = await expectCleanPool(pool, POOL_SIZE);
        const marker = uniqueMarker('cancel').replace('-', '_');
        const reading = rejection(
          transactions.read(tenantA.id, `SELECT pg_sleep(30)::text AS ${marker}`, []),
        );
        const pid = await activePid(marker);
        await admin.query('SELECT pg_cancel_backend($1)', [pid]);

        expectQueryFailed(await reading, '57014');
        const rows = await transactions.read<BoardRow>(tenantB.id, BOARDS_SQL, []);
        expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenantB));
        expect(await expectCleanPool(pool, POOL_SIZE)).toEqual(pidsBefore);
      });

      it('a read whose connection is terminated rejects with 57P01; the connection is discarded and the pool recovers', async () => {
        const pidsBefore = await expectCleanPool(pool, POOL_SIZE);
        const { failure, pid } = await terminateDuringRead();
        expect(pidsBefore).toContain(pid);
        expectQueryFailed(failure, '57P01');

        for (const tenant of [tenantA, tenantB, tenantA]) {
          const rows = await transactions.read<BoardRow>(tenant.id, BOARDS_SQL, []);
          expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenant));
        }
        expect(await expectCleanPool(pool, POOL_SIZE)).not.toContain(pid);
      });

      // The client read() holds has an 'error' listener: without one, a connection lost mid-read
      // would be an uncaught exception ending the process.
      it('losing the connection during a read emits no unhandled error event', async () => {
        const { unhandled } = await terminateDuringRead();
        expect(unhandled).toEqual([]);
      });
    });

    describe('parameters', () => {
      it.each([
        ['quotes', "it's ''quoted'' '"],
        ['backslashes', 'C:\\path\\ and a trailing \\'],
        ['escape-looking sequences', "\\n \\t \\x41 \\u0041 \\101 \\'"],
        ['percent signs and underscores', '100% of _all_'],
        ['all of them', "O'Brien \\ 100% done'; DROP TABLE boards; --"],
        ['a placeholder-looking text', '$1 $2 $10'],
        ['non-ASCII text and a newline', 'Zürich ✓\nnext line'],
        ['the empty string', ''],
      ])('%s round-trip exactly', async (_, value) => {
        const [row] = await transactions.read<{ v: string; read_only: string }>(
          tenantA.id,
          `SELECT $1::text AS v, current_setting('transaction_read_only') AS read_only`,
          [value],
        );
        expect(row).toEqual({ v: value, read_only: 'on' });
      });

      it('binds every supported type with its meaning intact', async () => {
        const when = new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 123));
        const [row] = await transactions.read<Record<string, unknown>>(
          tenantA.id,
          `SELECT $1::text AS s, $2::int AS n, 1 - $3 AS minus, $4::boolean AS yes, $5::boolean AS no,
                $6::timestamptz AS at, $7::text IS NULL AS null_is_null,
                $8::text IS NULL AS undefined_is_null, $9::text AS ninth, $10::text AS tenth,
                current_setting('transaction_read_only') AS read_only`,
          ["a'b\\c", 42, -5, true, false, when, null, undefined, 'nine', 'ten'],
        );
        expect(row).toEqual({
          s: "a'b\\c",
          n: 42,
          minus: 6,
          yes: true,
          no: false,
          at: when,
          null_is_null: true,
          undefined_is_null: true,
          ninth: 'nine',
          tenth: 'ten',
          read_only: 'on',
        });
      });

      it("a search with ', \\ and % finds exactly the tenant's matching board", async () => {
        const sql = `SELECT tenant_id, title FROM boards WHERE title ILIKE $1 ESCAPE '\\'`;
        const pattern = likePattern("o'brien \\ 100%");
        expect(pattern).toContain('\\\\');

        const rowsA = await transactions.read<{ tenant_id: string; title: string }>(
          tenantA.id,
          sql,
          [pattern],
        );
        // Not the decoy ('1000' would match an unescaped '100%'), not B's board with the same title.
        expect(rowsA).toEqual([{ tenant_id: tenantA.id, title: TRICKY_TITLE }]);
        const rowsB = await transactions.read(tenantB.id, sql, [pattern]);
        expect(rowsB).toEqual([{ tenant_id: tenantB.id, title: TRICKY_TITLE }]);
      });

      it('binds a fractional number like any other value, in the read-only tenant transaction', async () => {
        const [row] = await transactions.read<{ v: number; read_only: string; tenant: string }>(
          tenantA.id,
          `SELECT $1::float8 AS v, current_setting('transaction_read_only') AS read_only,
                current_setting('app.tenant_id') AS tenant`,
          [1.5],
        );
        expect(row).toEqual({ v: 1.5, read_only: 'on', tenant: tenantA.id });
      });

      it("a NUL character is refused with PostgreSQL's 22021 and the pool stays clean", async () => {
        const failed = await rejection(
          transactions.read(tenantA.id, 'SELECT $1::text AS v', ['before\0after']),
        );
        expectQueryFailed(failed, '22021');
        expect(transactions.inTransaction).toBe(false);
        await expectCleanPool(pool, POOL_SIZE);
      });

      it('a trailing semicolon in the statement is harmless', async () => {
        const rows = await transactions.read<BoardRow>(tenantA.id, `${BOARDS_SQL};`, []);
        expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenantA));
        await expectCleanPool(pool, POOL_SIZE);
      });

      // Each statement of the round trip is on its own line, so a trailing `--` comment cannot
      // swallow the COMMIT (which would leave the READ ONLY transaction and the tenant behind).
      it('a statement ending in a line comment still commits', async () => {
        const single = await db.target.connect('runtime', { poolSize: 1 });
        try {
          const reads = newTransactions(single);
          const rows = await reads.read<BoardRow>(tenantA.id, `${BOARDS_SQL} -- every board`, []);
          expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenantA));
          const [connection] = await pooledConnections(poolOf(single), 1);
          expect(connection).toMatchObject({ status: 'I', tenant: '', readOnly: 'off' });
        } finally {
          await single.destroy();
        }
      });
    });

    describe('one round trip, prepared once per connection', () => {
      const PREPARED_SQL = `SELECT name, statement, generic_plans + custom_plans AS runs
        FROM pg_prepared_statements`;

      interface PreparedRow {
        readonly name: string;
        readonly statement: string;
        readonly runs: string;
      }

      /** A runtime data source with one connection, so consecutive reads share it. */
      const withOneConnection = async (work: (single: DataSource) => Promise<void>) => {
        const single = await db.target.connect('runtime', { poolSize: 1 });
        try {
          await work(single);
        } finally {
          await single.destroy();
        }
      };

      it('writes the whole transaction in one socket write before the first answer arrives', async () => {
        type Event = 'flush' | 'ready';
        const events: Event[] = [];
        const instrument = (client: PoolClient) => {
          const connection = (
            client as unknown as {
              connection: NodeJS.EventEmitter & {
                stream: {
                  _write: (...args: unknown[]) => void;
                  _writev?: (...args: unknown[]) => void;
                };
              };
            }
          ).connection;
          const { stream } = connection;
          const write = stream._write;
          const writev = stream._writev;
          stream._write = function (...args: unknown[]) {
            events.push('flush');
            return write.apply(this, args);
          };
          if (writev) {
            stream._writev = function (...args: unknown[]) {
              events.push('flush');
              return writev.apply(this, args);
            };
          }
          const onReady = () => events.push('ready');
          connection.on('readyForQuery', onReady);
          return () => {
            stream._write = write;
            if (writev) stream._writev = writev;
            connection.off('readyForQuery', onReady);
          };
        };
        await withOneConnection(async (single) => {
          const reads = newTransactions(single);
          const singlePool = poolOf(single);
          // Warm: the connection exists and the statement is prepared.
          await reads.read<BoardRow>(tenantA.id, BOARDS_SQL, []);
          const client = await singlePool.connect();
          const restore = instrument(client);
          client.release();
          try {
            for (const tenant of [tenantA, tenantB]) {
              events.length = 0;
              const rows = await reads.read<BoardRow>(tenant.id, BOARDS_SQL, []);
              expect(rows.map((row) => row.id).sort()).toEqual(boardsOf(tenant));
              // START + set_config, the statement, COMMIT: three answers to one write.
              expect(events).toEqual(['flush', 'ready', 'ready', 'ready']);
            }
          } finally {
            const again = await singlePool.connect();
            expect(again).toBe(client);
            restore();
            again.release();
          }
        });
      });

      it('prepares a statement once per connection under a stable name and reuses it', async () => {
        await withOneConnection(async (single) => {
          const reads = newTransactions(single);
          const runs: number[] = [];
          const names = new Set<string>();
          for (const tenant of [tenantA, tenantB, tenantA]) {
            const rows = await reads.read<PreparedRow>(tenant.id, PREPARED_SQL, []);
            const own = rows.filter((row) => row.statement === PREPARED_SQL);
            expect(own).toHaveLength(1);
            names.add(own[0].name);
            runs.push(Number(own[0].runs));
          }
          expect([...names]).toEqual([expect.stringMatching(/^boards_read_\d+$/)]);
          expect(runs).toEqual([1, 2, 3]);
          // Another data source's connection gets the same name for the same text.
          const [elsewhere] = (
            await transactions.read<PreparedRow>(tenantA.id, PREPARED_SQL, [])
          ).filter((row) => row.statement === PREPARED_SQL);
          expect(elsewhere.name).toBe([...names][0]);
        });
      });

      it('with BOARDS_DATABASE_PREPARED_STATEMENTS=false prepares nothing and reads the same', async () => {
        await withOneConnection(async (single) => {
          const reads = newTransactions(single, { BOARDS_DATABASE_PREPARED_STATEMENTS: 'false' });
          const sql = `${PREPARED_SQL} -- unnamed`;
          for (const tenant of [tenantA, tenantB]) {
            const rows = await reads.read<PreparedRow>(tenant.id, sql, []);
            expect(rows.filter((row) => row.statement === sql)).toEqual([]);
            const boards = await reads.read<BoardRow>(tenant.id, BOARDS_SQL, []);
            expect(boards.map((row) => row.id).sort()).toEqual(boardsOf(tenant));
          }
          const [prepared] = await reads.read<{ n: number }>(
            tenantA.id,
            'SELECT count(*)::int AS n FROM pg_prepared_statements',
            [],
          );
          expect(prepared.n).toBe(0);
        });
      });

      it('a statement whose result type changed under it is prepared anew on fresh connections, and the read succeeds', async () => {
        const table = uniqueMarker('stale_probe').replace(/-/g, '_');
        await admin.query(`CREATE TABLE ${table} (n int)`);
        try {
          await admin.query(`INSERT INTO ${table} VALUES (7)`);
          await admin.query(`GRANT SELECT ON ${table} TO ${db.runtimeRole}`);
          // Slow enough that two reads at once hold both connections of the pool.
          const sql = `SELECT n, pg_backend_pid() AS pid, pg_sleep(0.2)::text AS slept FROM ${table}`;
          const stalePids = await (async () => {
            const both = await db.target.connect('runtime', { poolSize: 2 });
            const reads = newTransactions(both);
            try {
              const first = await Promise.all(
                [tenantA, tenantB].map((tenant) =>
                  reads.read<{ n: number; pid: number }>(tenant.id, sql, []),
                ),
              );
              expect(first.map(([row]) => row.n)).toEqual([7, 7]);
              const pids = first.map(([row]) => row.pid);
              expect(new Set(pids).size).toBe(2);

              // Both pooled connections now hold a plan returning int; the column becomes bigint.
              await admin.query(`ALTER TABLE ${table} ALTER COLUMN n TYPE bigint`);
              const [after] = await reads.read<{ n: string; pid: number }>(tenantA.id, sql, []);
              expect(after.n).toBe('7');
              expect(pids).not.toContain(after.pid);
              const [connection] = await pooledConnections(poolOf(both), 1);
              expect(connection).toMatchObject({ status: 'I', tenant: '', readOnly: 'off' });
              return pids;
            } finally {
              await both.destroy();
            }
          })();
          // The stale connections were closed, not returned to the pool.
          const { rows } = await admin.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])',
            [stalePids],
          );
          expect(rows[0].n).toBe(0);
        } finally {
          await admin.query(`DROP TABLE ${table}`);
        }
      });

      it('a value the driver cannot send fails the read and its connection is replaced', async () => {
        await withOneConnection(async (single) => {
          const reads = newTransactions(single);
          const sql = `SELECT $1::text AS v, pg_backend_pid() AS pid`;
          const [before] = await reads.read<{ v: string; pid: number }>(tenantA.id, sql, ['ok']);
          const unsendable = {
            toPostgres: () => {
              throw new Error('cannot serialize this value');
            },
          };
          const failed = await rejection(reads.read(tenantA.id, sql, [unsendable]));
          expect(failed).toBeInstanceOf(QueryFailedError);
          expect((failed as Error).message).toContain('cannot serialize this value');

          // pg closed the prepared statement on that connection but still counts it as prepared:
          // the connection is gone from the pool before the next read could stumble on it.
          const [replaced] = await pooledConnections(poolOf(single), 1);
          expect(replaced.pid).not.toBe(before.pid);
          const [after] = await reads.read<{ v: string; pid: number }>(tenantA.id, sql, ['ok']);
          expect(after.v).toBe('ok');
          expect(after.pid).not.toBe(before.pid);
          const [connection] = await pooledConnections(poolOf(single), 1);
          expect(connection).toMatchObject({ status: 'I', tenant: '', readOnly: 'off' });
        });
      });
    });

    describe('inside an open tenant transaction', () => {
      class RolledBack extends Error {}

      it('joins it: sees its uncommitted insert on its connection, read-write', async () => {
        const title = uniqueMarker('uncommitted');
        const seen = await rejection(
          transactions.run(tenantA.id, async (manager) => {
            const id = await insertBoard(manager, owners[0], title, tenantA.slug);
            const [own] = (await manager.query('SELECT pg_backend_pid() AS pid')) as {
              pid: number;
            }[];
            const rows = await transactions.read<BoardRow & { title: string }>(
              tenantA.id,
              'SELECT tenant_id, id, title FROM boards WHERE title = $1',
              [title],
            );
            const [setting] = await transactions.read<SettingRow>(tenantA.id, SETTING_SQL, []);
            throw Object.assign(new RolledBack(), { id, rows, pid: own.pid, setting });
          }),
        );
        expect(seen).toBeInstanceOf(RolledBack);
        const { id, rows, pid, setting } = seen as RolledBack & {
          id: string;
          rows: (BoardRow & { title: string })[];
          pid: number;
          setting: SettingRow;
        };
        expect(rows).toEqual([{ tenant_id: tenantA.id, id, title }]);
        expect(setting).toEqual({ pid, tenant: tenantA.id, read_only: 'off' });

        // The transaction rolled back: the row is gone for the next read and for the superuser.
        expect(
          await transactions.read(tenantA.id, 'SELECT id FROM boards WHERE title = $1', [title]),
        ).toEqual([]);
        expect((await groundTruth([tenantA.id])).map((row) => row.id)).not.toContain(id);
        await expectCleanPool(pool, POOL_SIZE);
      });

      it("refuses another tenant's read inside it", async () => {
        const refusal = await rejection(
          transactions.run(tenantA.id, () => transactions.read(tenantB.id, BOARDS_SQL, [])),
        );
        expect(refusal).toBeInstanceOf(TenantContextMissingError);
        await expectCleanPool(pool, POOL_SIZE);
      });
    });

    describe(`${READS} interleaved reads over ${TENANTS} tenants, ${CONCURRENCY} callers, a pool of ${CONCURRENT_POOL_SIZE}`, () => {
      let concurrent: DataSource;

      beforeAll(async () => {
        concurrent = await db.target.connect('runtime', { poolSize: CONCURRENT_POOL_SIZE });
      });

      afterAll(async () => {
        await concurrent?.destroy();
      });

      it('every read sees exactly its tenant; failing ones leave nothing behind', async () => {
        const reads = newTransactions(concurrent);
        const concurrentPool = poolOf(concurrent);
        expect(concurrentPool.options.max).toBe(CONCURRENT_POOL_SIZE);

        type Kind = 'read' | 'sql-error' | 'write';
        const seed = Date.now() % 2_147_483_647;
        const next = seededRandom(seed);
        const steps = Array.from({ length: READS }, (_, index) => {
          const roll = next();
          const kind: Kind = roll < 0.08 ? 'sql-error' : roll < 0.14 ? 'write' : 'read';
          return { index, kind, tenant: tenants[Math.floor(next() * TENANTS)] };
        });
        const marker = "not a title: it's \\ 100%";

        const unexpected: string[] = [];
        const pids = new Set<number>();
        let foreignRows = 0;
        let succeeded = 0;
        let failures = 0;
        let maxWaiting = 0;
        let cursor = 0;

        const worker = async () => {
          while (cursor < steps.length) {
            const step = steps[cursor++];
            const { tenant } = step;
            maxWaiting = Math.max(maxWaiting, concurrentPool.waitingCount);
            try {
              switch (step.kind) {
                case 'read': {
                  const rows = await reads.read<{
                    tenant_id: string;
                    marker: string;
                    setting: string;
                    pid: number;
                  }>(
                    tenant.id,
                    `SELECT tenant_id, metadata->>'marker' AS marker, pg_backend_pid() AS pid,
                          current_setting('app.tenant_id') AS setting
                     FROM boards WHERE title <> $1`,
                    [marker],
                  );
                  succeeded++;
                  for (const row of rows) pids.add(row.pid);
                  const foreign = rows.filter(
                    (row) =>
                      row.tenant_id !== tenant.id ||
                      row.marker !== tenant.slug ||
                      row.setting !== tenant.id,
                  ).length;
                  foreignRows += foreign;
                  if (rows.length !== boardsOf(tenant).length) {
                    unexpected.push(
                      `read ${step.index} (${tenant.slug}): ${rows.length} rows, expected ${boardsOf(tenant).length}`,
                    );
                  }
                  break;
                }
                case 'sql-error':
                  await reads.read(tenant.id, 'SELECT tenant_id, 1/0 AS boom FROM boards', []);
                  unexpected.push(`read ${step.index} (sql-error) succeeded`);
                  break;
                case 'write':
                  await reads.read(
                    tenant.id,
                    'UPDATE boards SET title = title WHERE title <> $1 RETURNING tenant_id, id',
                    [marker],
                  );
                  unexpected.push(`read ${step.index} (write) succeeded`);
                  break;
              }
            } catch (err) {
              const code = (err as QueryFailedError<Error & { code?: string }>).driverError?.code;
              const expected =
                err instanceof QueryFailedError &&
                ((step.kind === 'sql-error' && code === '22012') ||
                  (step.kind === 'write' && code === '25006'));
              if (expected) failures++;
              else unexpected.push(`read ${step.index} (${step.kind}): ${String(err)}`);
            }
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));

        const planned = (kind: Kind) => steps.filter((step) => step.kind === kind).length;
        process.stderr.write(
          `one-round-trip reads: ${READS} (${failures} failing) for ${TENANTS} tenants on ` +
            `${pids.size} pooled connections, up to ${maxWaiting} callers waiting (seed ${seed}); ` +
            `foreign rows seen: ${foreignRows}\n`,
        );

        expect(unexpected).toEqual([]);
        expect(foreignRows).toBe(0);
        expect(succeeded).toBe(planned('read'));
        expect(failures).toBe(planned('sql-error') + planned('write'));
        expect(planned('sql-error')).toBeGreaterThan(0);
        expect(planned('write')).toBeGreaterThan(0);
        // The pool was contended and shared: callers waited, every connection served reads.
        expect(maxWaiting).toBeGreaterThan(0);
        expect(pids.size).toBe(CONCURRENT_POOL_SIZE);
        expect(await expectCleanPool(concurrentPool, CONCURRENT_POOL_SIZE)).toEqual(
          [...pids].sort(),
        );

        // Nothing was written: each tenant's rows are exactly the seeded ones.
        const truth = await groundTruth(tenants.map((tenant) => tenant.id));
        for (const tenant of tenants) {
          expect(
            truth
              .filter((row) => row.tenant_id === tenant.id)
              .map((row) => row.id)
              .sort(),
          ).toEqual(boardsOf(tenant));
        }
      }, 120_000);
    });
  },
);

/** The runtime data source's pg Pool (a PostgreSQL server, not the embedded database). */
function requirePgPool(dataSource: Parameters<typeof runtimePgPool>[0]): Pool {
  const pool = runtimePgPool(dataSource);
  if (!pool) throw new Error('no pg Pool behind this data source (embedded database?)');
  return pool;
}
