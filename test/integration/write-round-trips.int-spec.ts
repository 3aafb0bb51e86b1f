import { AsyncLocalStorage } from 'node:async_hooks';
import { ClsService } from 'nestjs-cls';
import { Client, type Pool, type PoolClient } from 'pg';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { loadConfig } from 'src/core/config/boards-config';
import { queryQuietly, runtimePgPool } from 'src/core/database/driver-internals';
import { namedStatement } from 'src/core/database/prepared-statements';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import {
  createTenant,
  inTenant,
  insertUser,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { recordRoundTrips } from 'test/support/round-trips';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * A write transaction of TenantTransactions.run on the real server: the statements that open it
 * (START TRANSACTION, the tenant, the statement timeout) wait for its first statement and go in
 * the same round trip, so a one-statement write costs two round trips (the statement with its
 * open, then COMMIT), not three. The statement still runs bound to its tenant, under row-level
 * security, in the transaction that commits or rolls back with the rest; work that sends nothing
 * sends nothing; and the connection always goes back to the pool idle, without a tenant.
 */

const INSERT_BOARD = `INSERT INTO boards (owner_id, title) VALUES ($1, $2)
  RETURNING id::text AS id, tenant_id::text AS tenant_id,
    (SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS timeout`;

interface InsertedRow {
  readonly id: string;
  readonly tenant_id: string;
  readonly timeout: string;
}

describeWithPostgres('TenantTransactions.run: a write opens with its first statement', () => {
  let db: TestDatabase;
  let single: DataSource;
  let pool: Pool;
  let admin: Client;
  let tenant: SeededTenant;
  let other: SeededTenant;
  let ownerId: string;
  let transactions: TenantTransactions;

  /** The superuser's view (no RLS) of the boards with `title`: their tenants. */
  const boardsTitled = async (title: string): Promise<string[]> => {
    const { rows } = await admin.query<{ tenant_id: string }>(
      'SELECT tenant_id::text AS tenant_id FROM boards WHERE title = $1',
      [title],
    );
    return rows.map((row) => row.tenant_id);
  };

  /**
   * Socket flushes and ReadyForQuery answers on the pool's one connection while `work` runs: each
   * round trip is a flush followed by the answers it asked for.
   */
  const roundTripsOf = async (work: () => Promise<unknown>): Promise<string[]> => {
    const client = await pool.connect();
    const events: string[] = [];
    const stop = recordRoundTrips(client, events);
    client.release();
    try {
      await work();
    } finally {
      stop();
    }
    const again = await pool.connect();
    try {
      // The one connection was the one instrumented.
      expect(again).toBe(client);
    } finally {
      again.release();
    }
    return events;
  };

  /**
   * The texts the pool's one connection sends while `work` runs, in order: extended-protocol
   * Parses (the open's statements, a statement, the COMMIT a last statement carries) and
   * simple-protocol queries (TypeORM's ROLLBACK, a COMMIT sent on its own).
   */
  const textsSent = async (work: () => Promise<unknown>): Promise<string[]> => {
    const client = await pool.connect();
    const connection = (client as unknown as { connection: Record<string, unknown> }).connection;
    client.release();
    const texts: string[] = [];
    const originals = { parse: connection.parse, query: connection.query };
    for (const key of ['parse', 'query'] as const) {
      const original = originals[key] as (...args: unknown[]) => unknown;
      connection[key] = function (this: unknown, ...args: unknown[]) {
        const [first] = args;
        texts.push(typeof first === 'string' ? first : (first as { text: string }).text);
        return original.apply(this, args);
      };
    }
    try {
      await work();
    } finally {
      Object.assign(connection, originals);
    }
    return texts.map((text) => text.replace(/\s+/g, ' ').slice(0, 40));
  };

  /** The pool's one connection: idle, outside a transaction, without a tenant. */
  const expectCleanConnection = async () => {
    const client: PoolClient = await pool.connect();
    try {
      expect(client.getTransactionStatus()).toBe('I');
      const { rows } = await client.query<{ tenant: string | null }>(
        `SELECT current_setting('app.tenant_id', true) AS tenant`,
      );
      expect(rows[0].tenant ?? '').toBe('');
    } finally {
      client.release();
    }
  };

  /** The SQLSTATE `work` in a tenant transaction of `tenantId` failed with (TypeORM's QueryFailedError). */
  const failureCode = async (
    tenantId: string,
    work: Parameters<TenantTransactions['run']>[1],
    options?: Parameters<TenantTransactions['run']>[2],
  ): Promise<string | undefined> => {
    const failure = await transactions.run(tenantId, work, options).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(QueryFailedError);
    return (failure as QueryFailedError<Error & { code?: string }>).driverError.code;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    tenant = await createTenant(db.owner, uniqueMarker('writes'));
    other = await createTenant(db.owner, uniqueMarker('writes-other'));
    ownerId = await inTenant(db.runtime, tenant.id, (runner) => insertUser(runner, 'writer'));
    single = await db.target.connect('runtime', { poolSize: 1 });
    const found = runtimePgPool(single);
    if (!found) throw new Error('the runtime data source has no pg pool');
    pool = found;
    transactions = new TenantTransactions(
      single,
      new ClsService(new AsyncLocalStorage()),
      loadConfig({}),
    );
    admin = new Client({ connectionString: adminUrlOf(db) });
    await admin.connect();
    // Warm: the pool's connection exists.
    await transactions.run(tenant.id, (manager) => manager.query('SELECT 1'));
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await single?.destroy();
    await db?.drop();
  });

  it('a one-statement write takes two round trips: the statement with its open, then COMMIT', async () => {
    const title = uniqueMarker('two-trips');
    let inserted: InsertedRow[] = [];
    const events = await roundTripsOf(async () => {
      inserted = await transactions.run(tenant.id, (manager) =>
        manager.query(INSERT_BOARD, [ownerId, title]),
      );
    });
    expect(events).toEqual(['flush', 'ready', 'flush', 'ready']);
    // Bound to the tenant (the column's default is the setting) and under the route's timeout.
    expect(inserted).toEqual([
      {
        id: expect.any(String) as string,
        tenant_id: tenant.id,
        timeout: String(loadConfig({}).database.statementTimeouts.admin),
      },
    ]);
    expect(await boardsTitled(title)).toEqual([tenant.id]);
    await expectCleanConnection();
  });

  it("commits without TypeORM's commitTransaction (no subscriber listens); a failed COMMIT is TypeORM's QueryFailedError", async () => {
    const typeormCommit = jest.spyOn(PostgresQueryRunner.prototype, 'commitTransaction');
    try {
      const title = uniqueMarker('quiet-commit');
      await transactions.run(tenant.id, (manager) => manager.query(INSERT_BOARD, [ownerId, title]));
      expect(await boardsTitled(title)).toEqual([tenant.id]);
      expect(typeormCommit).not.toHaveBeenCalled();
      // A deferred unique constraint is checked at COMMIT, which fails: nothing is written.
      const refused = uniqueMarker('refused-at-commit');
      expect(
        await failureCode(tenant.id, async (manager) => {
          await manager.query(INSERT_BOARD, [ownerId, refused]);
          await manager.query(
            'CREATE TEMP TABLE commit_check (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP',
          );
          await manager.query('INSERT INTO commit_check VALUES (1), (1)');
        }),
      ).toBe('23505');
      expect(await boardsTitled(refused)).toEqual([]);
      expect(typeormCommit).not.toHaveBeenCalled();
      await expectCleanConnection();
    } finally {
      typeormCommit.mockRestore();
    }
  });

  it("a repository's statement answers as TypeORM's query does, without it: rows, [rows, count] for UPDATE and DELETE, QueryFailedError", async () => {
    const typeormQuery = jest.spyOn(PostgresQueryRunner.prototype, 'query');
    const title = uniqueMarker('quiet-query');
    try {
      const answers = await transactions.run(tenant.id, async (manager) => {
        const inserted = await queryQuietly(manager, INSERT_BOARD, [ownerId, title]);
        const updated = await queryQuietly(
          manager,
          'UPDATE boards SET description = $2 WHERE title = $1 RETURNING title, description',
          [title, 'quiet'],
        );
        const none = await queryQuietly(manager, 'DELETE FROM boards WHERE title = $1', [
          uniqueMarker('nothing'),
        ]);
        const txids = await queryQuietly(
          manager,
          'SELECT txid_current()::text AS txid, $1::int AS n',
          [1],
        );
        return { inserted, updated, none, txids };
      });
      expect(typeormQuery).not.toHaveBeenCalled();
      expect(answers.inserted).toEqual([expect.objectContaining({ tenant_id: tenant.id })]);
      expect(answers.updated).toEqual([[{ title, description: 'quiet' }], 1]);
      expect(answers.none).toEqual([[], 0]);
      expect(answers.txids).toEqual([{ txid: expect.stringMatching(/^\d+$/), n: 1 }]);
      // TypeORM's own query answers the same shapes.
      const viaTypeorm = await transactions.run(tenant.id, async (manager) => [
        await manager.query(
          'UPDATE boards SET description = $2 WHERE title = $1 RETURNING title, description',
          [title, 'quiet'],
        ),
        await manager.query('DELETE FROM boards WHERE title = $1', [uniqueMarker('nothing')]),
      ]);
      expect(viaTypeorm).toEqual([answers.updated, answers.none]);
      typeormQuery.mockClear();
      // A failing statement rejects with TypeORM's error around the driver's, and rolls back.
      const refused = uniqueMarker('quiet-refused');
      const failure = await transactions
        .run(tenant.id, async (manager) => {
          await queryQuietly(manager, INSERT_BOARD, [ownerId, refused]);
          await queryQuietly(manager, 'SELECT 1 / $1::int AS never', [0]);
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(QueryFailedError);
      expect(failure).toMatchObject({
        query: 'SELECT 1 / $1::int AS never',
        parameters: [0],
        driverError: expect.objectContaining({ code: '22012' }),
      });
      // Only the rollback went through TypeORM.
      expect(typeormQuery.mock.calls.map(([text]) => text)).toEqual(['ROLLBACK']);
      expect(await boardsTitled(refused)).toEqual([]);
      expect(await boardsTitled(title)).toEqual([tenant.id]);
      await expectCleanConnection();
    } finally {
      typeormQuery.mockRestore();
    }
  });

  it('a logger that records queries sees every statement and the COMMIT: the quiet paths step aside for it', async () => {
    const logged: string[] = [];
    const { logger } = single;
    const silent = logger.logQuery;
    logger.logQuery = (query) => {
      logged.push(query);
    };
    try {
      const title = uniqueMarker('logged');
      await transactions.run(tenant.id, (manager) =>
        queryQuietly(manager, INSERT_BOARD, [ownerId, title]),
      );
      expect(logged).toEqual([INSERT_BOARD, 'COMMIT']);
      expect(await boardsTitled(title)).toEqual([tenant.id]);
    } finally {
      logger.logQuery = silent;
    }
  });

  it('every statement after the first runs in the same transaction', async () => {
    const title = uniqueMarker('same-transaction');
    const [first, second] = await transactions.run(tenant.id, async (manager) => {
      const rows = (await manager.query('SELECT txid_current()::text AS txid, $1::text AS step', [
        'first',
      ])) as { txid: string }[];
      await manager.query(INSERT_BOARD, [ownerId, title]);
      const after = (await manager.query('SELECT txid_current()::text AS txid')) as {
        txid: string;
      }[];
      return [rows[0].txid, after[0].txid];
    });
    expect(second).toBe(first);
    expect(await boardsTitled(title)).toEqual([tenant.id]);
  });

  it('work that sends no statement sends nothing, and the connection stays clean', async () => {
    const events = await roundTripsOf(() => transactions.run(tenant.id, () => Promise.resolve(7)));
    expect(events).toEqual([]);
    await expectCleanConnection();
  });

  it('work that fails after its first statement rolls it back', async () => {
    const title = uniqueMarker('rolled-back');
    await expect(
      transactions.run(tenant.id, async (manager) => {
        await manager.query(INSERT_BOARD, [ownerId, title]);
        throw new Error('after the insert');
      }),
    ).rejects.toThrow('after the insert');
    expect(await boardsTitled(title)).toEqual([]);
    await expectCleanConnection();
  });

  it('a first statement that fails rejects with its own error; nothing is written', async () => {
    const title = uniqueMarker('refused');
    // The owner does not exist: the foreign key refuses the row.
    expect(
      await failureCode(tenant.id, (manager) =>
        manager.query(INSERT_BOARD, ['00000000-0000-0000-0000-000000000000', title]),
      ),
    ).toBe('23503');
    expect(await boardsTitled(title)).toEqual([]);
    await expectCleanConnection();
  });

  it("the first statement belongs to the transaction's tenant: another tenant's user cannot own its row", async () => {
    // The owner is a user of `tenant`. In `other`'s transaction the row's tenant_id is `other`
    // (the column's default is the setting), and the composite foreign key (tenant_id, owner_id)
    // finds no such user there.
    const title = uniqueMarker('cross');
    expect(
      await failureCode(other.id, (manager) => manager.query(INSERT_BOARD, [ownerId, title])),
    ).toBe('23503');
    expect(await boardsTitled(title)).toEqual([]);
    await expectCleanConnection();
  });

  it('work that fails before its first statement sends nothing and leaves a connection every kind of read can use', async () => {
    const events = await roundTripsOf(() =>
      transactions
        .run(tenant.id, () => Promise.reject(new Error('refused before any statement')))
        .catch((err: unknown) => err),
    );
    expect(events).toEqual([]);
    await expectCleanConnection();
    // A one-round-trip read and a plain query on the same (only) connection.
    const [row] = await transactions.read<{ tenant: string }>(
      tenant.id,
      `SELECT current_setting('app.tenant_id') AS tenant`,
      [],
    );
    expect(row.tenant).toBe(tenant.id);
    expect(await single.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    await expectCleanConnection();
  });

  it('a statement still on its way when the work fails runs inside the transaction, then rolls back', async () => {
    const title = uniqueMarker('on-its-way');
    let stray: Promise<unknown> | undefined;
    await expect(
      transactions.run(tenant.id, (manager) => {
        // TypeORM reaches the client only after a few promise jobs; the work fails before that.
        stray = manager.query(`${INSERT_BOARD}`, [ownerId, title]);
        return Promise.reject(new Error('failed at once'));
      }),
    ).rejects.toThrow('failed at once');
    const rows = (await stray) as InsertedRow[];
    // It ran in the tenant's transaction (bound to the tenant), which then rolled back.
    expect(rows[0].tenant_id).toBe(tenant.id);
    expect(await boardsTitled(title)).toEqual([]);
    await expectCleanConnection();
  });

  it('a first statement without parameters that does not parse fails the transaction: nothing after it runs unbound', async () => {
    const seen: string[] = [];
    const code = await failureCode(tenant.id, async (manager) => {
      await manager.query('SELEC 1').catch(() => seen.push('parse error'));
      return manager.query(`SELECT current_setting('app.tenant_id', true) AS tenant`);
    });
    expect(seen).toEqual(['parse error']);
    expect(code).toBe('25P02');
    await expectCleanConnection();
  });

  it("a repository's write runs as a named prepared statement, bound to each transaction's tenant under its generic plan", async () => {
    const text = `${INSERT_BOARD} /* ${uniqueMarker('named')} */`;
    transactions.prepareStatement(text);
    const name = namedStatement(text);
    expect(name).toMatch(/^boards_write_\d+$/);
    const plans = async () =>
      (
        (await transactions.run(tenant.id, (manager) =>
          manager.query(
            'SELECT name, generic_plans::int AS generic FROM pg_prepared_statements WHERE statement = $1',
            [text],
          ),
        )) as { name: string; generic: number }[]
      )[0];
    // The pool's one session plans every prepared statement generically: the plan is cached
    // once and reused, whichever tenant's transaction runs it.
    await transactions.run(tenant.id, (manager) =>
      manager.query('SET plan_cache_mode = force_generic_plan'),
    );
    try {
      const titles = Array.from({ length: 3 }, () => uniqueMarker('named-run'));
      for (const title of titles) {
        const [row] = await transactions.run(tenant.id, (manager) =>
          manager.query(text, [ownerId, title]),
        );
        expect((row as InsertedRow).tenant_id).toBe(tenant.id);
      }
      for (const title of titles) expect(await boardsTitled(title)).toEqual([tenant.id]);
      expect(await plans()).toEqual({ name, generic: 3 });
      // Under that plan another tenant's transaction still writes its own tenant's row:
      // `tenant`'s user cannot own it there.
      const cross = uniqueMarker('named-cross');
      expect(await failureCode(other.id, (manager) => manager.query(text, [ownerId, cross]))).toBe(
        '23503',
      );
      expect(await boardsTitled(cross)).toEqual([]);
      expect(await plans()).toEqual({ name, generic: 4 });
    } finally {
      await transactions.run(tenant.id, (manager) => manager.query('RESET plan_cache_mode'));
    }
    await expectCleanConnection();
  });

  it('a write whose prepared copy became unusable fails once; its connection is replaced and the next write runs', async () => {
    const table = `prepared_write_${uniqueMarker('t').replace(/[^a-z0-9]/gi, '_')}`;
    const text = `SELECT * FROM pg_temp.${table} WHERE a = $1`;
    transactions.prepareStatement(text);
    const pid = async () =>
      (
        (await transactions.run(tenant.id, (manager) =>
          manager.query('SELECT pg_backend_pid() AS pid'),
        )) as { pid: number }[]
      )[0].pid;
    const before = await pid();
    // A table of the pool's one session, and the statement prepared on it.
    await transactions.run(tenant.id, async (manager) => {
      await manager.query(`CREATE TEMP TABLE ${table} (a int)`);
      await manager.query(`INSERT INTO pg_temp.${table} VALUES (1)`);
    });
    expect(await transactions.run(tenant.id, (manager) => manager.query(text, [1]))).toEqual([
      { a: 1 },
    ]);
    // What the statement returns changes under its cached plan.
    await transactions.run(tenant.id, (manager) =>
      manager.query(`ALTER TABLE pg_temp.${table} ADD COLUMN b int`),
    );
    expect(await failureCode(tenant.id, (manager) => manager.query(text, [1]))).toBe('0A000');
    // The pool's one connection was ended and replaced: a new session, clean, that writes.
    expect(await pid()).not.toBe(before);
    await expectCleanConnection();
    const title = uniqueMarker('after-unusable');
    await transactions.run(tenant.id, (manager) => manager.query(INSERT_BOARD, [ownerId, title]));
    expect(await boardsTitled(title)).toEqual([tenant.id]);
  });

  it('with BOARDS_DATABASE_PREPARED_STATEMENTS=false a write is not named', async () => {
    const unprepared = new TenantTransactions(
      single,
      new ClsService(new AsyncLocalStorage()),
      loadConfig({ BOARDS_DATABASE_PREPARED_STATEMENTS: 'false' }),
    );
    const text = `${INSERT_BOARD} /* ${uniqueMarker('unnamed')} */`;
    unprepared.prepareStatement(text);
    expect(namedStatement(text)).toBeUndefined();
    const title = uniqueMarker('unnamed-run');
    await unprepared.run(tenant.id, (manager) => manager.query(text, [ownerId, title]));
    expect(await boardsTitled(title)).toEqual([tenant.id]);
    const held = await unprepared.run(tenant.id, (manager) =>
      manager.query('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [
        text,
      ]),
    );
    expect(held).toEqual([{ n: 0 }]);
  });
  describe("a request's last statement carries the COMMIT (lastStatement)", () => {
    const REQUEST = { lastStatementCommits: true } as const;

    /** `sql` as the transaction's last statement, as TenantScopedRepository.execute sends it. */
    const last = (manager: EntityManager, sql: string, params: unknown[]) =>
      queryQuietly(manager, sql, params, transactions.lastStatement());

    it('a request whose one statement is its last takes one round trip, bound to its tenant, committed', async () => {
      const title = uniqueMarker('one-trip');
      let inserted: InsertedRow[] = [];
      const events = await roundTripsOf(async () => {
        inserted = (await transactions.run(
          tenant.id,
          (manager) => last(manager, INSERT_BOARD, [ownerId, title]),
          REQUEST,
        )) as InsertedRow[];
      });
      expect(events).toEqual(['flush', 'ready']);
      expect(inserted).toEqual([expect.objectContaining({ tenant_id: tenant.id })]);
      expect(await boardsTitled(title)).toEqual([tenant.id]);
      await expectCleanConnection();
    });

    it('a later statement carries it too: one round trip for it and the COMMIT', async () => {
      const title = uniqueMarker('later-last');
      const events = await roundTripsOf(() =>
        transactions.run(
          tenant.id,
          async (manager) => {
            await queryQuietly(manager, 'SELECT $1::int AS first', [1]);
            return last(manager, INSERT_BOARD, [ownerId, title]);
          },
          REQUEST,
        ),
      );
      expect(events).toEqual(['flush', 'ready', 'flush', 'ready']);
      expect(await boardsTitled(title)).toEqual([tenant.id]);
      await expectCleanConnection();
    });

    it('outside a request transaction (CLI, background work), or once statements follow the handler, the last statement goes as any other', async () => {
      const plain = uniqueMarker('not-a-request');
      const followed = uniqueMarker('statements-follow');
      const withoutOption = await roundTripsOf(() =>
        transactions.run(tenant.id, (manager) => last(manager, INSERT_BOARD, [ownerId, plain])),
      );
      const vetoed = await roundTripsOf(() =>
        transactions.run(
          tenant.id,
          (manager) => {
            transactions.statementsFollow();
            return last(manager, INSERT_BOARD, [ownerId, followed]);
          },
          REQUEST,
        ),
      );
      expect(withoutOption).toEqual(['flush', 'ready', 'flush', 'ready']);
      expect(vetoed).toEqual(['flush', 'ready', 'flush', 'ready']);
      expect(await boardsTitled(plain)).toEqual([tenant.id]);
      expect(await boardsTitled(followed)).toEqual([tenant.id]);
      await expectCleanConnection();
    });

    it('a statement after the last one fails and runs nowhere (not outside the transaction); the last one stays committed', async () => {
      const committed = uniqueMarker('last-committed');
      const stray = uniqueMarker('after-last');
      const failure = await transactions
        .run(
          tenant.id,
          async (manager) => {
            await last(manager, INSERT_BOARD, [ownerId, committed]);
            await manager.query(INSERT_BOARD, [ownerId, stray]);
          },
          REQUEST,
        )
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failure).toBeInstanceOf(QueryFailedError);
      expect(String((failure as Error).message)).toMatch(/after the transaction's last one/);
      expect(await boardsTitled(committed)).toEqual([tenant.id]);
      expect(await boardsTitled(stray)).toEqual([]);
      await expectCleanConnection();
    });

    it('a last statement that fails rolls the transaction back; nothing is written', async () => {
      const first = uniqueMarker('before-failed-last');
      let code: string | undefined;
      const texts = await textsSent(async () => {
        code = await failureCode(
          tenant.id,
          async (manager) => {
            await queryQuietly(manager, INSERT_BOARD, [ownerId, first]);
            await last(manager, 'SELECT 1 / $1::int AS never', [0]);
          },
          REQUEST,
        );
      });
      expect(code).toBe('22012');
      // The last statement carried the COMMIT, which PostgreSQL skipped; then the ROLLBACK.
      expect(texts.slice(-3)).toEqual(['SELECT 1 / $1::int AS never', 'COMMIT', 'ROLLBACK']);
      expect(await boardsTitled(first)).toEqual([]);
      await expectCleanConnection();
    });

    it("work that swallows its last statement's failure does not commit what came before it", async () => {
      const first = uniqueMarker('swallowed-last');
      const code = await failureCode(
        tenant.id,
        async (manager) => {
          await queryQuietly(manager, INSERT_BOARD, [ownerId, first]);
          await last(manager, 'SELECT 1 / $1::int AS never', [0]).catch(() => undefined);
          // And what it tries after that is refused, not run outside the transaction.
          await manager
            .query(INSERT_BOARD, [ownerId, uniqueMarker('after-swallowed')])
            .catch((err: Error) => expect(err.message).toMatch(/last one/));
          return 'done';
        },
        REQUEST,
      );
      expect(code).toBe('22012');
      expect(await boardsTitled(first)).toEqual([]);
      await expectCleanConnection();
    });

    it('a COMMIT that fails fails the last statement: nothing of the transaction is written', async () => {
      const title = uniqueMarker('failed-commit');
      let failure: unknown;
      const texts = await textsSent(async () => {
        failure = await transactions
          .run(
            tenant.id,
            async (manager) => {
              await queryQuietly(manager, INSERT_BOARD, [ownerId, title]);
              await manager.query(
                'CREATE TEMP TABLE last_commit_check (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP',
              );
              await queryQuietly(manager, 'INSERT INTO last_commit_check VALUES (1)', []);
              // Checked at COMMIT, which goes with this statement.
              await last(manager, 'INSERT INTO last_commit_check VALUES ($1)', [1]);
            },
            REQUEST,
          )
          .then(
            () => undefined,
            (err: unknown) => err,
          );
      });
      // The COMMIT went with the last statement (and failed there), then the ROLLBACK.
      expect(texts.slice(-3)).toEqual([
        'INSERT INTO last_commit_check VALUES ($1',
        'COMMIT',
        'ROLLBACK',
      ]);
      expect(failure).toBeInstanceOf(QueryFailedError);
      expect((failure as QueryFailedError<Error & { code?: string }>).driverError.code).toBe(
        '23505',
      );
      expect(await boardsTitled(title)).toEqual([]);
      await expectCleanConnection();
    });

    it('after a COMMIT that failed, what the work sends is refused (it would run outside any transaction)', async () => {
      const refusedAfter = uniqueMarker('after-failed-commit');
      let events: string[] = [];
      const failure = await transactions
        .run(
          tenant.id,
          async (manager) => {
            await manager.query(
              'CREATE TEMP TABLE last_commit_again (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP',
            );
            await queryQuietly(manager, 'INSERT INTO last_commit_again VALUES (1)', []);
            const recorded: string[] = [];
            events = recorded;
            await last(manager, 'INSERT INTO last_commit_again VALUES ($1)', [1]).catch(
              () => undefined,
            );
            // A "retry on conflict" after the failed COMMIT: refused, never autocommitted.
            await manager
              .query(INSERT_BOARD, [ownerId, refusedAfter])
              .catch((err: Error) => recorded.push(err.message));
          },
          REQUEST,
        )
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(events).toEqual([expect.stringMatching(/last one/)]);
      expect((failure as QueryFailedError<Error & { code?: string }>).driverError.code).toBe(
        '23505',
      );
      expect(await boardsTitled(refusedAfter)).toEqual([]);
      await expectCleanConnection();
    });

    it('a statement sent beside the last one is refused; one queued before it sends the last one as any other', async () => {
      const committed = uniqueMarker('beside-last');
      const beside = uniqueMarker('beside-refused');
      const outcomes = await transactions.run(
        tenant.id,
        async (manager) =>
          Promise.allSettled([
            last(manager, INSERT_BOARD, [ownerId, committed]),
            manager.query(INSERT_BOARD, [ownerId, beside]),
          ]),
        REQUEST,
      );
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
      expect(await boardsTitled(committed)).toEqual([tenant.id]);
      expect(await boardsTitled(beside)).toEqual([]);
      await expectCleanConnection();

      const before = uniqueMarker('queued-before');
      const after = uniqueMarker('then-last');
      const events = await roundTripsOf(() =>
        transactions.run(
          tenant.id,
          (manager) =>
            Promise.all([
              queryQuietly(manager, INSERT_BOARD, [ownerId, before]),
              last(manager, INSERT_BOARD, [ownerId, after]),
            ]),
          REQUEST,
        ),
      );
      // The first with its open, the second as any other, then the COMMIT.
      expect(events.filter((event) => event === 'ready')).toHaveLength(3);
      expect(await boardsTitled(before)).toEqual([tenant.id]);
      expect(await boardsTitled(after)).toEqual([tenant.id]);
      await expectCleanConnection();
    });

    it('work that fails while its last statement is out answers its error; the COMMIT on its way stands', async () => {
      const title = uniqueMarker('failed-while-out');
      let out: Promise<unknown> | undefined;
      await expect(
        transactions.run(
          tenant.id,
          (manager) => {
            out = last(manager, INSERT_BOARD, [ownerId, title]);
            return Promise.reject(new Error('failed while the last statement was out'));
          },
          REQUEST,
        ),
      ).rejects.toThrow('failed while the last statement was out');
      await out;
      expect(await boardsTitled(title)).toEqual([tenant.id]);
      await expectCleanConnection();
    });

    it('a named (prepared) last statement: parsed and described on the first run, then bound and run with the COMMIT', async () => {
      const text = `${INSERT_BOARD} /* ${uniqueMarker('named-last')} */`;
      transactions.prepareStatement(text);
      const titles = Array.from({ length: 3 }, () => uniqueMarker('named-last-run'));
      for (const title of titles) {
        const events = await roundTripsOf(() =>
          transactions.run(tenant.id, (manager) => last(manager, text, [ownerId, title]), REQUEST),
        );
        expect(events).toEqual(['flush', 'ready']);
      }
      for (const title of titles) expect(await boardsTitled(title)).toEqual([tenant.id]);
      const [prepared] = (await transactions.run(tenant.id, (manager) =>
        manager.query(
          'SELECT name, generic_plans + custom_plans AS runs FROM pg_prepared_statements WHERE statement = $1',
          [text],
        ),
      )) as { name: string; runs: string }[];
      expect(prepared).toEqual({ name: namedStatement(text), runs: expect.anything() });
      await expectCleanConnection();
    });

    it("the last statement belongs to the transaction's tenant: another tenant's user cannot own its row", async () => {
      const title = uniqueMarker('cross-last');
      let code: string | undefined;
      const texts = await textsSent(async () => {
        code = await failureCode(
          other.id,
          (manager) => last(manager, INSERT_BOARD, [ownerId, title]),
          REQUEST,
        );
      });
      expect(code).toBe('23503');
      // The statement with its open and the COMMIT (refused, so the COMMIT skipped), the ROLLBACK.
      expect(texts.slice(-3)).toEqual([
        INSERT_BOARD.replace(/\s+/g, ' ').slice(0, 40),
        'COMMIT',
        'ROLLBACK',
      ]);
      expect(await boardsTitled(title)).toEqual([]);
      await expectCleanConnection();
    });
  });
});
