import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import {
  destroyConnectionSocket,
  discardConnection,
  finalStatementOn,
  holdTransactionOpen,
  markTransactionOpen,
  pipelined,
  runtimePgPool,
} from 'src/core/database/driver-internals';
import { GuardedPgClient } from 'src/core/database/guarded-pg-client';
import { preparedStatementName } from 'src/core/database/prepared-statements';
import { describeWithPostgres } from 'test/support/environment';
import { recordRoundTrips } from 'test/support/round-trips';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Each accessor of driver-internals.ts against a real TypeORM data source and pg pool: it returns
 * what the code relies on, and does what its name says. A library that moves or renames one of
 * these fields fails here (see also driver-internals.spec.ts for the checks without a database).
 */

/** What TypeORM itself keeps about a runner's transaction (the fields markTransactionOpen sets). */
function transactionState(runner: QueryRunner): { active: unknown; depth: unknown } {
  const state = runner as unknown as { isTransactionActive: unknown; transactionDepth: unknown };
  return { active: state.isTransactionActive, depth: state.transactionDepth };
}

async function backendPid(runner: QueryRunner): Promise<number> {
  const rows = (await runner.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
  return rows[0].pid;
}

describeWithPostgres('driver internals against PostgreSQL', () => {
  let db: TestDatabase;
  let runtime: DataSource;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 3 });
    runtime = db.runtime;
    const found = runtimePgPool(runtime);
    if (!found) throw new Error('runtimePgPool found no pg Pool on the runtime data source');
    pool = found;
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('runtimePgPool is the pg Pool TypeORM checks connections out of, with its counters', async () => {
    expect(pool).toBeInstanceOf(Pool);
    expect(pool.options.Client).toBe(GuardedPgClient);
    expect(pool.options.max).toBe(3);
    for (const counter of ['totalCount', 'idleCount', 'waitingCount'] as const) {
      expect(typeof pool[counter]).toBe('number');
    }
    // The counters are those of the pool the data source uses: a runner's connection shows.
    const runner = runtime.createQueryRunner();
    try {
      await backendPid(runner);
      expect(pool.totalCount).toBeGreaterThanOrEqual(1);
      expect(pool.totalCount - pool.idleCount).toBeGreaterThanOrEqual(1);
      expect(pool.waitingCount).toBe(0);
    } finally {
      await runner.release();
    }
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it("markTransactionOpen leaves a runner in the state TypeORM's startTransaction does", async () => {
    const started = runtime.createQueryRunner();
    const marked = runtime.createQueryRunner();
    try {
      expect(transactionState(started)).toEqual({ active: false, depth: 0 });
      expect(transactionState(marked)).toEqual({ active: false, depth: 0 });
      await started.startTransaction();

      await marked.query('START TRANSACTION');
      markTransactionOpen(marked);
      expect(transactionState(marked)).toEqual(transactionState(started));
      expect(transactionState(marked)).toEqual({ active: true, depth: 1 });
      expect(marked.isTransactionActive).toBe(true);

      // TypeORM now treats the transaction as its own: a nested one is a savepoint in it (which
      // PostgreSQL refuses outside a transaction), and commit ends it.
      await marked.startTransaction();
      expect(transactionState(marked)).toEqual({ active: true, depth: 2 });
      await marked.rollbackTransaction();
      expect(transactionState(marked)).toEqual({ active: true, depth: 1 });
      const inside = (await marked.query('SELECT now() = statement_timestamp() AS fresh')) as {
        fresh: boolean;
      }[];
      expect(inside[0].fresh).toBe(false);
      await marked.commitTransaction();
      await started.commitTransaction();

      expect(transactionState(marked)).toEqual({ active: false, depth: 0 });
      expect(transactionState(started)).toEqual({ active: false, depth: 0 });
      const after = (await marked.query('SELECT now() = statement_timestamp() AS fresh')) as {
        fresh: boolean;
      }[];
      expect(after[0].fresh).toBe(true);
    } finally {
      await marked.release();
      await started.release();
    }
  });

  it('discardConnection (releasePostgresConnection) releases the runner and destroys its connection', async () => {
    const releaser = (runtime.createQueryRunner() as unknown as Record<string, unknown>)
      .releasePostgresConnection;
    expect(typeof releaser).toBe('function');

    const runner = runtime.createQueryRunner();
    const pid = await backendPid(runner);
    const before = pool.totalCount;
    await discardConnection(runner, new Error('discarded by the test'));
    expect(runner.isReleased).toBe(true);
    expect(pool.totalCount).toBe(before - 1);

    // The connection is closed, not parked: its server process ends.
    const started = Date.now();
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      if (rows[0].n === 0) break;
      if (Date.now() - started > 2_000) throw new Error(`backend ${pid} still runs`);
      await new Promise((done) => setTimeout(done, 20));
    }
  });

  it("destroyConnectionSocket ends a checked-out client's socket: its next query fails", async () => {
    const client = await pool.connect();
    let failure: unknown;
    try {
      await expect(client.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
      destroyConnectionSocket(client);
      failure = await client.query('SELECT 2 AS two').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(Error);
    } finally {
      client.release(failure instanceof Error ? failure : new Error('socket destroyed'));
    }
    // The pool still serves queries on a fresh connection.
    await expect(pool.query('SELECT 3 AS three')).resolves.toMatchObject({
      rows: [{ three: 3 }],
    });
  });

  it('pipelined sends its queries in order on one connection and leaves pipeline mode', async () => {
    const client = await pool.connect();
    // Every query is on the socket before the first answer: in pipeline mode pg writes each
    // query at once; otherwise it writes the next only when the previous one is answered.
    const stream = (client as unknown as { connection: { stream: Record<string, unknown> } })
      .connection.stream;
    const write = stream.write as (...args: unknown[]) => boolean;
    let writes = 0;
    stream.write = function (this: unknown, ...args: unknown[]) {
      writes++;
      return write.apply(this, args);
    };
    try {
      const sending = pipelined(client, [
        'START TRANSACTION READ ONLY',
        { text: 'SELECT $1::int + 1 AS n', values: [41] },
        'SELECT 1/0',
        'COMMIT',
      ]);
      const writtenAtOnce = writes;
      delete stream.write;
      const steps = await sending;
      expect(writtenAtOnce).toBeGreaterThanOrEqual(4);
      expect(steps.map((step) => step.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect(steps[1].status === 'fulfilled' && steps[1].value.rows).toEqual([{ n: 42 }]);
      expect((client as unknown as { pipeline: unknown }).pipeline).toBe(false);
      expect(client.getTransactionStatus()).toBe('I');
      await expect(client.query('SELECT 4 AS four')).resolves.toMatchObject({
        rows: [{ four: 4 }],
      });
    } finally {
      delete stream.write;
      client.release();
    }
  });
  it('pipelined describes a named statement on its first run on a connection only', async () => {
    const client = await pool.connect();
    const connection = (client as unknown as { connection: Record<string, unknown> }).connection;
    const describe = connection.describe as (...args: unknown[]) => void;
    let describes = 0;
    connection.describe = function (this: unknown, ...args: unknown[]) {
      describes++;
      describe.apply(this, args);
    };
    const run = async (name: string, text: string, values: unknown[]) => {
      const steps = await pipelined(client, [
        'START TRANSACTION READ ONLY',
        { name, text, values, queryMode: 'extended' } as QueryConfig,
        'COMMIT',
      ]);
      const step = steps[1];
      if (step.status === 'rejected') throw step.reason;
      return step.value;
    };
    const text = 'SELECT $1::int AS n, $2::text AS label, now() AS at, NULL::jsonb AS nothing';
    try {
      for (let i = 1; i <= 3; i++) {
        const result = await run('describe_once_a', text, [i, `run ${i}`]);
        // Columns, names and parsed values as on the first run, which alone was described.
        expect(result.rows).toEqual([
          { n: i, label: `run ${i}`, at: expect.any(Date), nothing: null },
        ]);
        expect(result.fields.map((field) => field.name)).toEqual(['n', 'label', 'at', 'nothing']);
        expect(describes).toBe(1);
      }
      // A failed run (the server refuses the value) leaves the statement prepared: still no Describe.
      await expect(run('describe_once_a', text, ['not a number', 'x'])).rejects.toThrow(/integer/);
      expect(client.getTransactionStatus()).toBe('I');
      expect((await run('describe_once_a', text, [7, 'after'])).rows[0]).toMatchObject({ n: 7 });
      expect(describes).toBe(1);
      // Another statement is described once in its turn; unnamed ones every time.
      const other = 'SELECT $1::int * 2 AS doubled';
      expect((await run('describe_once_b', other, [4])).rows).toEqual([{ doubled: 8 }]);
      expect((await run('describe_once_b', other, [5])).rows).toEqual([{ doubled: 10 }]);
      expect(describes).toBe(2);
      await run(undefined as unknown as string, other, [6]);
      await run(undefined as unknown as string, other, [7]);
      expect(describes).toBe(4);
    } finally {
      delete connection.describe;
      client.release();
    }
  });

  describe('holdTransactionOpen: the open goes with the first statement', () => {
    const tenant = randomUUID();
    const open = [
      'START TRANSACTION',
      `SET LOCAL app.tenant_id = '${tenant}'`,
      "SET LOCAL statement_timeout = '4321'",
    ];
    /** A statement that cannot open (an invalid setting) after START TRANSACTION. */
    const failingOpen = ['START TRANSACTION', "SET LOCAL statement_timeout = 'not a duration'"];
    const hasOwnQuery = (client: PoolClient) =>
      Object.prototype.hasOwnProperty.call(client, 'query');

    /**
     * A temporary sequence of the session: nextval() is not undone by a rollback, so `is_called`
     * tells whether a statement that calls it ran at all.
     */
    const probe = async (client: PoolClient) => {
      await client.query('CREATE TEMP SEQUENCE IF NOT EXISTS held_probe');
      await client.query('ALTER SEQUENCE held_probe RESTART');
      return async () =>
        (await client.query<{ ran: boolean }>('SELECT is_called AS ran FROM held_probe')).rows[0]
          .ran;
    };

    it('sends nothing until the first statement, then both in one write and one answer', async () => {
      const client = await pool.connect();
      const events: string[] = [];
      const stop = recordRoundTrips(client, events);
      try {
        const held = holdTransactionOpen(client, open);
        expect(held.sent).toBe(false);
        expect(hasOwnQuery(client)).toBe(true);
        await new Promise((done) => setImmediate(done));
        expect(events).toEqual([]);
        // With parameters (extended protocol).
        const result = await client.query(
          `SELECT current_setting('app.tenant_id') AS tenant, current_setting($1) AS timeout,
             current_setting('transaction_read_only') AS read_only`,
          ['statement_timeout'],
        );
        expect(events).toEqual(['flush', 'ready']);
        expect(result.rows).toEqual([{ tenant, timeout: '4321ms', read_only: 'off' }]);
        expect(result.command).toBe('SELECT');
        expect(held.sent).toBe(true);
        // The hold is gone: the next statement is an ordinary one, in the same transaction.
        expect(hasOwnQuery(client)).toBe(false);
        expect(client.getTransactionStatus()).toBe('T');
        const again = await client.query(`SELECT current_setting('app.tenant_id') AS tenant`);
        expect(again.rows).toEqual([{ tenant }]);
        await client.query('ROLLBACK');
        const after = await client.query(`SELECT current_setting('app.tenant_id', true) AS tenant`);
        expect(after.rows[0].tenant ?? '').toBe('');
      } finally {
        stop();
        client.release();
      }
    });

    it("without parameters (simple protocol) the open goes first on its own; the result is the statement's", async () => {
      const client = await pool.connect();
      const events: string[] = [];
      const stop = recordRoundTrips(client, events);
      try {
        holdTransactionOpen(client, open);
        const result = await client.query(`SELECT current_setting('app.tenant_id') AS tenant`);
        expect(events).toEqual(['flush', 'ready', 'flush', 'ready']);
        expect(Array.isArray(result)).toBe(false);
        expect(result.rows).toEqual([{ tenant }]);
        expect(result.command).toBe('SELECT');
        expect(client.getTransactionStatus()).toBe('T');
        await client.query('ROLLBACK');
      } finally {
        stop();
        client.release();
      }
    });

    it.each([
      ['with parameters', 'SELEC $1::int', [1]],
      ['without parameters', 'SELEC 1', undefined],
    ])(
      'a first statement that does not parse leaves the transaction open and failed, never autocommit (%s)',
      async (_, text, values) => {
        const client = await pool.connect();
        try {
          holdTransactionOpen(client, open);
          await expect(client.query(text, values)).rejects.toMatchObject({ code: '42601' });
          // The next statement is refused: it cannot run outside the tenant transaction.
          await expect(
            client.query(`SELECT current_setting('app.tenant_id', true) AS tenant`),
          ).rejects.toMatchObject({ code: '25P02' });
          await client.query('ROLLBACK');
          expect(client.getTransactionStatus()).toBe('I');
        } finally {
          client.release();
        }
      },
    );

    it.each([
      ['with parameters', 'SELECT nextval($1) AS n', ['held_probe']],
      ['without parameters', "SELECT nextval('held_probe') AS n", undefined],
    ])('a statement behind an open that fails never runs (%s)', async (_, text, values) => {
      const client = await pool.connect();
      try {
        const ran = await probe(client);
        // The probe itself: behind an open that succeeds, the statement runs.
        holdTransactionOpen(client, open);
        await client.query(text, values);
        expect(await ran()).toBe(true);
        await client.query('ROLLBACK');
        await client.query('ALTER SEQUENCE held_probe RESTART');

        holdTransactionOpen(client, failingOpen);
        await expect(client.query(text, values)).rejects.toMatchObject({ code: '22023' });
        // START TRANSACTION ran, so the transaction is open and failed until rolled back.
        await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
        await client.query('ROLLBACK');
        expect(await ran()).toBe(false);
      } finally {
        client.release();
      }
    });

    it('a failing first statement leaves the opened transaction failed, to be rolled back', async () => {
      const client = await pool.connect();
      try {
        holdTransactionOpen(client, open);
        await expect(client.query('SELECT 1 / $1::int AS n', [0])).rejects.toMatchObject({
          code: '22012',
        });
        await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
        await client.query('ROLLBACK');
        expect(client.getTransactionStatus()).toBe('I');
      } finally {
        client.release();
      }
    });

    it('cancel removes an unused hold; another first call than (text, values) is refused', async () => {
      const client = await pool.connect();
      try {
        const held = holdTransactionOpen(client, open);
        held.cancel();
        expect(hasOwnQuery(client)).toBe(false);
        expect(held.sent).toBe(false);
        await client.query('SELECT 1');
        expect(client.getTransactionStatus()).toBe('I');

        // A refused first call sends nothing and leaves the hold for the statement after it.
        const again = holdTransactionOpen(client, open);
        await expect(
          (client.query as (config: QueryConfig) => Promise<unknown>)({ text: 'SELECT 1' }),
        ).rejects.toThrow(/first call/);
        expect(again.sent).toBe(false);
        expect(hasOwnQuery(client)).toBe(true);
        const result = await client.query(`SELECT current_setting('app.tenant_id') AS tenant`);
        expect(result.rows).toEqual([{ tenant }]);
        expect(again.sent).toBe(true);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    });
  });

  describe("finalStatementOn: a transaction's last statement carries its COMMIT", () => {
    const tenant = randomUUID();
    const open = ['START TRANSACTION', `SET LOCAL app.tenant_id = '${tenant}'`];
    const hasOwnQuery = (client: PoolClient) =>
      Object.prototype.hasOwnProperty.call(client, 'query');

    it('with the held open: one write, one answer, the rows, the transaction over; then the client refuses statements until release', async () => {
      const client = await pool.connect();
      const events: string[] = [];
      const stop = recordRoundTrips(client, events);
      try {
        const final = finalStatementOn(client, holdTransactionOpen(client, open));
        expect(final.committed).toBe(false);
        const result = await final.send(
          `SELECT current_setting('app.tenant_id') AS tenant, $1::int AS n`,
          [5],
        );
        expect(events).toEqual(['flush', 'ready']);
        expect(result.rows).toEqual([{ tenant, n: 5 }]);
        expect(result.command).toBe('SELECT');
        await final.settled();
        expect(final).toMatchObject({ carried: true, committed: true, failure: undefined });
        expect(client.getTransactionStatus()).toBe('I');
        // Anything after it would run outside the transaction: refused, nothing sent.
        await expect(client.query('SELECT 1')).rejects.toThrow(/after the transaction's last one/);
        await expect(final.send('SELECT $1::int AS n', [1])).rejects.toThrow(/last one/);
        expect(events).toEqual(['flush', 'ready']);
        final.release();
        expect(hasOwnQuery(client)).toBe(false);
        const after = await client.query(`SELECT current_setting('app.tenant_id', true) AS t`);
        expect(after.rows[0].t ?? '').toBe('');
      } finally {
        stop();
        client.release();
      }
    });

    it('a statement without parameters goes as any other: the transaction stays open', async () => {
      const client = await pool.connect();
      try {
        const final = finalStatementOn(client, holdTransactionOpen(client, open));
        const result = await final.send(`SELECT current_setting('app.tenant_id') AS tenant`, []);
        expect(result.rows).toEqual([{ tenant }]);
        expect(final.committed).toBe(false);
        expect(client.getTransactionStatus()).toBe('T');
        await client.query('ROLLBACK');
        final.release();
      } finally {
        client.release();
      }
    });

    it('a last statement that fails leaves the transaction failed; the client refuses statements until release, then rolls back', async () => {
      const client = await pool.connect();
      try {
        const final = finalStatementOn(client, holdTransactionOpen(client, open));
        await expect(final.send('SELECT 1 / $1::int AS n', [0])).rejects.toMatchObject({
          code: '22012',
        });
        await final.settled();
        expect(final).toMatchObject({ carried: true, committed: false });
        expect(final.failure).toMatchObject({ code: '22012' });
        expect(client.getTransactionStatus()).toBe('E');
        await expect(client.query('SELECT 1')).rejects.toThrow(/last one/);
        final.release();
        await client.query('ROLLBACK');
        expect(client.getTransactionStatus()).toBe('I');
      } finally {
        client.release();
      }
    });

    it('the refusal starts as soon as the statement is queued, and answers every form of call', async () => {
      const client = await pool.connect();
      try {
        const final = finalStatementOn(client, holdTransactionOpen(client, open));
        const last = final.send('SELECT $1::int AS n', [1]);
        // Sent before the answer came: it would run after the COMMIT, outside the transaction.
        const behind = client.query('SELECT $1::int AS behind', [2]);
        const viaCallback = new Promise<Error>((done) => {
          client.query('SELECT 3', (err: Error) => done(err));
        });
        await expect(behind).rejects.toThrow(/last one/);
        await expect(viaCallback).resolves.toThrow(/last one/);
        expect((await last).rows).toEqual([{ n: 1 }]);
        expect(final.committed).toBe(true);
        final.release();
      } finally {
        client.release();
      }
    });

    it('a later statement finding others still queued on the client goes as any other statement', async () => {
      const client = await pool.connect();
      try {
        const held = holdTransactionOpen(client, open);
        const final = finalStatementOn(client, held);
        const first = client.query('SELECT pg_sleep(0.05), $1::int AS n', [1]);
        const last = await final.send('SELECT $1::int AS n', [2]);
        await first;
        expect(last.rows).toEqual([{ n: 2 }]);
        expect(final).toMatchObject({ carried: false, committed: false });
        expect(client.getTransactionStatus()).toBe('T');
        await client.query('ROLLBACK');
        final.release();
      } finally {
        client.release();
      }
    });
  });

  describe('named prepared statements: a text with a prepared name goes by that name', () => {
    const tenant = randomUUID();
    const open = ['START TRANSACTION', `SET LOCAL app.tenant_id = '${tenant}'`];
    const failingOpen = ['START TRANSACTION', "SET LOCAL statement_timeout = 'not a duration'"];
    /** A statement text of its own (the names are kept per process), named as a write's. */
    const namedText = (sql: string) => {
      const text = `${sql} /* ${randomUUID()} */`;
      const name = preparedStatementName(text, 'write');
      if (!name) throw new Error('no prepared name left');
      return { text, name };
    };
    /** The statement names of the Parse messages `client` sends while `work` runs ('' unnamed). */
    const parsesOf = async (client: PoolClient, work: () => Promise<unknown>) => {
      const connection = (
        client as unknown as { connection: { parse(config: { name?: string }): void } }
      ).connection;
      const original = connection.parse;
      const parses: string[] = [];
      connection.parse = function (this: unknown, config: { name?: string }) {
        parses.push(config.name ?? '');
        return original.call(this, config);
      };
      try {
        await work();
      } finally {
        connection.parse = original;
      }
      return parses;
    };
    const TENANT_AND_N = `SELECT current_setting('app.tenant_id') AS tenant, $1::int AS n`;
    /** `work` on a connection of the pool, given back after. */
    const withClient = async (work: (client: PoolClient) => Promise<void>) => {
      const client = await pool.connect();
      try {
        await work(client);
      } finally {
        client.release();
      }
    };
    /**
     * `setup`, then `failing`, on one connection: what `failing` rejected with, once it is checked
     * that the connection was ended and that the pool hands out another one, which works.
     */
    const failureThatEnds = async (
      setup: (client: PoolClient) => Promise<void>,
      failing: (client: PoolClient) => Promise<unknown>,
    ): Promise<unknown> => {
      const client = await pool.connect();
      let failure: unknown;
      try {
        await setup(client);
        failure = await failing(client).then(
          () => undefined,
          (err: unknown) => err,
        );
        const stream = (client as unknown as { connection: { stream: { destroyed: boolean } } })
          .connection.stream;
        expect(stream.destroyed).toBe(true);
      } finally {
        client.release(failure instanceof Error ? failure : undefined);
      }
      await withClient(async (next) => {
        expect(next).not.toBe(client);
        expect((await next.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
      });
      return failure;
    };
    /** Runs `text` on `client`: the Parse messages it sent and the rows it answered. */
    const sent = async (client: PoolClient, text: string, values: unknown[]) => {
      let rows: unknown[] = [];
      const parses = await parsesOf(client, async () => {
        ({ rows } = await client.query(text, values));
      });
      return { parses, rows };
    };
    /** Whether the session of `client` holds a prepared statement `name` (PostgreSQL's view). */
    const prepared = async (client: PoolClient, name: string) =>
      (
        await client.query<{ held: boolean }>(
          'SELECT count(*) = 1 AS held FROM pg_prepared_statements WHERE name = $1',
          [name],
        )
      ).rows[0].held;

    it("the server pools' client sends a named text by its name, parsed once per connection; other texts unnamed", async () => {
      const { text, name } = namedText('SELECT $1::int + 1 AS n');
      await withClient(async (client) => {
        expect(await sent(client, text, [1])).toEqual({
          parses: [name],
          rows: [{ n: 2 }],
        });
        expect(await sent(client, text, [41])).toEqual({
          parses: [],
          rows: [{ n: 42 }],
        });
        expect(await prepared(client, name)).toBe(true);
        // A text without a name, and a named text without parameters, go unnamed.
        const other = `SELECT $1::int AS n /* ${randomUUID()} */`;
        expect(await parsesOf(client, () => client.query(other, [1]))).toEqual(['']);
        const bare = namedText('SELECT 1 AS n');
        expect(await parsesOf(client, () => client.query(bare.text))).toEqual([]);
        expect(await prepared(client, bare.name)).toBe(false);
      });
    });

    it("a held open sends a named first statement by its name, parsing it on the connection's first run only", async () => {
      const { text, name } = namedText(TENANT_AND_N);
      await withClient(async (client) => {
        for (const [run, parses] of [
          [1, ['', '', name]],
          [2, ['', '']],
        ] as const) {
          holdTransactionOpen(client, open);
          expect(await sent(client, text, [run])).toEqual({
            parses: parses,
            rows: [{ tenant, n: run }],
          });
          expect(client.getTransactionStatus()).toBe('T');
          await client.query('ROLLBACK');
        }
        expect(await prepared(client, name)).toBe(true);
      });
    });

    it("a held open's named first statement is described on the connection's first run only", async () => {
      const { text } = namedText(
        `SELECT current_setting('app.tenant_id') AS tenant, $1::int AS n, now() AS at`,
      );
      await withClient(async (client) => {
        const connection = (client as unknown as { connection: Record<string, unknown> })
          .connection;
        const describe = connection.describe as (...args: unknown[]) => void;
        let describes = 0;
        connection.describe = function (this: unknown, ...args: unknown[]) {
          describes++;
          describe.apply(this, args);
        };
        try {
          for (let run = 1; run <= 3; run++) {
            holdTransactionOpen(client, open);
            const { rows, fields } = await client.query(text, [run]);
            // Columns, names and parsed values as on the first run, which alone was described.
            expect(rows).toEqual([{ tenant, n: run, at: expect.any(Date) }]);
            expect(fields.map((field) => field.name)).toEqual(['tenant', 'n', 'at']);
            expect(describes).toBe(1);
            await client.query('ROLLBACK');
          }
          // A value the server refuses fails the run and leaves the description in use.
          holdTransactionOpen(client, open);
          await expect(client.query(text, ['not a number'])).rejects.toMatchObject({
            code: '22P02',
          });
          await client.query('ROLLBACK');
          holdTransactionOpen(client, open);
          expect((await client.query(text, [9])).rows).toEqual([
            { tenant, n: 9, at: expect.any(Date) },
          ]);
          await client.query('ROLLBACK');
          expect(describes).toBe(1);
        } finally {
          delete connection.describe;
        }
      });
    });

    it('an open that fails leaves its named statement unparsed: the next run parses it', async () => {
      const { text, name } = namedText(TENANT_AND_N);
      await withClient(async (client) => {
        holdTransactionOpen(client, failingOpen);
        await expect(client.query(text, [1])).rejects.toMatchObject({ code: '22023' });
        await client.query('ROLLBACK');
        expect(await prepared(client, name)).toBe(false);
        holdTransactionOpen(client, open);
        expect(await sent(client, text, [2])).toEqual({
          parses: ['', '', name],
          rows: [{ tenant, n: 2 }],
        });
        await client.query('ROLLBACK');
        expect(await prepared(client, name)).toBe(true);
      });
    });

    it('a named statement that fails after it parsed stays parsed: its next run only binds', async () => {
      const { text, name } = namedText('SELECT 1 / $1::int AS n');
      await withClient(async (client) => {
        holdTransactionOpen(client, open);
        await expect(client.query(text, [0])).rejects.toMatchObject({ code: '22012' });
        await client.query('ROLLBACK');
        expect(await prepared(client, name)).toBe(true);
        holdTransactionOpen(client, open);
        expect(await sent(client, text, [1])).toEqual({
          parses: ['', ''],
          rows: [{ n: 1 }],
        });
        await client.query('ROLLBACK');
      });
    });

    it.each([
      ['sent by the pool client', false],
      ['the first statement of a held open', true],
    ])(
      'a named statement with a value the driver cannot send ends its connection (%s)',
      async (_, heldOpen) => {
        const { text } = namedText('SELECT $1::text AS v');
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const failure = await failureThatEnds(
          async (client) => {
            // Known to the connection first, so pg counts it as parsed when the Close goes out.
            await client.query(text, ['known']);
            if (heldOpen) holdTransactionOpen(client, open);
          },
          (client) => client.query(text, [circular]),
        );
        expect(failure).toBeInstanceOf(TypeError);
      },
    );

    it('a connection whose named statement became unusable ends, and the pool replaces it', async () => {
      const table = `prepared_probe_${randomUUID().replace(/-/g, '')}`;
      const { text } = namedText(`SELECT * FROM pg_temp.${table} WHERE a = $1`);
      const failure = await failureThatEnds(
        async (client) => {
          await client.query(`CREATE TEMP TABLE ${table} (a int)`);
          await client.query(`INSERT INTO pg_temp.${table} VALUES (1)`);
          expect((await client.query(text, [1])).rows).toEqual([{ a: 1 }]);
          // What the statement returns changes under its cached plan.
          await client.query(`ALTER TABLE pg_temp.${table} ADD COLUMN b int`);
        },
        (client) => client.query(text, [1]),
      );
      expect(failure).toMatchObject({ code: '0A000', routine: 'RevalidateCachedQuery' });
    });
  });
});
