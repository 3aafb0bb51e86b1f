import { EmbeddedDatabase } from './embedded-database';

/** The pg-like surface TypeORM uses: `new Pool()`, `connect(callback)` with a release function. */
interface Client {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number; command: string }>;
}
type Release = (err?: unknown) => void;
interface Pool {
  connect(callback: (err: Error | null, client: Client | null, release: Release) => void): void;
}

function borrow(pool: Pool): Promise<{ client: Client; release: Release }> {
  return new Promise((done, fail) =>
    pool.connect((err, client, release) =>
      err || !client ? fail(err) : done({ client, release }),
    ),
  );
}

function newPool(database: EmbeddedDatabase, role: string | null): Pool {
  const { Pool: EmbeddedPool } = database.driverFor(role);
  return new EmbeddedPool() as unknown as Pool;
}

describe('EmbeddedDatabase (in-memory PGlite)', () => {
  let database: EmbeddedDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await EmbeddedDatabase.open('memory://');
    pool = newPool(database, null);
    const { client, release } = await borrow(pool);
    await client.query(`
      CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);
      CREATE ROLE spec_reader NOLOGIN;
      GRANT SELECT ON items TO spec_reader;`);
    release();
  }, 60_000);

  afterAll(async () => {
    await database?.close();
  });

  it('lends the session to one borrower at a time', async () => {
    const first = await borrow(pool);
    let secondArrived = false;
    const second = borrow(pool).then((lent) => {
      secondArrived = true;
      return lent;
    });

    await first.client.query('SELECT pg_sleep(0.05)');
    await new Promise((done) => setTimeout(done, 50));
    expect(secondArrived).toBe(false);

    first.release();
    const lent = await second;
    expect(secondArrived).toBe(true);
    lent.release();
  });

  it('keeps two transactions apart: the second starts after the first commits', async () => {
    const order: string[] = [];
    const transaction = async (id: number) => {
      const { client, release } = await borrow(pool);
      try {
        await client.query('BEGIN');
        order.push(`begin ${id}`);
        await client.query('INSERT INTO items (id, label) VALUES ($1, $2)', [id, `t${id}`]);
        await new Promise((done) => setTimeout(done, 20));
        await client.query('COMMIT');
        order.push(`commit ${id}`);
      } finally {
        release();
      }
    };
    await Promise.all([transaction(101), transaction(102)]);
    expect(order).toEqual(['begin 101', 'commit 101', 'begin 102', 'commit 102']);
  });

  it('rolls back an open transaction when the borrower releases with an error', async () => {
    const failing = await borrow(pool);
    await failing.client.query('BEGIN');
    await failing.client.query('INSERT INTO items (id, label) VALUES ($1, $2)', [201, 'lost']);
    failing.release(new Error('work failed mid-transaction'));

    const next = await borrow(pool);
    try {
      const { rows } = await next.client.query(
        'SELECT count(*)::int AS n FROM items WHERE id = $1',
        [201],
      );
      expect(rows[0].n).toBe(0);
      // No transaction is left open: a fresh BEGIN/COMMIT works and persists.
      await next.client.query('BEGIN');
      await next.client.query('INSERT INTO items (id, label) VALUES ($1, $2)', [202, 'kept']);
      await next.client.query('COMMIT');
    } finally {
      next.release();
    }
    const check = await borrow(pool);
    const { rows } = await check.client.query('SELECT label FROM items WHERE id IN (201, 202)');
    check.release();
    expect(rows).toEqual([{ label: 'kept' }]);
  });

  it('runs multi-statement text without parameters and returns the last result', async () => {
    const { client, release } = await borrow(pool);
    try {
      const result = await client.query(`
        INSERT INTO items (id, label) VALUES (301, 'a');
        INSERT INTO items (id, label) VALUES (302, 'b');
        SELECT label FROM items WHERE id IN (301, 302) ORDER BY id;`);
      expect(result.rows).toEqual([{ label: 'a' }, { label: 'b' }]);
      expect(result.rowCount).toBe(2);
      expect(result.command).toBe('SELECT');
    } finally {
      release();
    }
  });

  it('reports rowCount and command for UPDATE and DELETE, with and without parameters', async () => {
    const { client, release } = await borrow(pool);
    try {
      await client.query(`INSERT INTO items (id, label) VALUES (401, 'x'), (402, 'x'), (403, 'y')`);
      const updated = await client.query('UPDATE items SET label = $1 WHERE label = $2', [
        'z',
        'x',
      ]);
      expect(updated).toMatchObject({ rowCount: 2, command: 'UPDATE' });
      const unparameterized = await client.query(`UPDATE items SET label = 'w' WHERE id = 403`);
      expect(unparameterized).toMatchObject({ rowCount: 1, command: 'UPDATE' });
      const none = await client.query('UPDATE items SET label = $1 WHERE id = $2', ['q', -1]);
      expect(none).toMatchObject({ rowCount: 0, command: 'UPDATE' });
      const deleted = await client.query(
        'DELETE FROM items WHERE id BETWEEN $1 AND $2',
        [401, 403],
      );
      expect(deleted).toMatchObject({ rowCount: 3, command: 'DELETE' });
      const selected = await client.query('SELECT id FROM items WHERE id > $1', [0]);
      expect(selected.command).toBe('SELECT');
      expect(selected.rowCount).toBe(selected.rows.length);
    } finally {
      release();
    }
  });

  it('acts as the role each pool names, switching back for the superuser pool', async () => {
    const readerPool = newPool(database, 'spec_reader');
    const reader = await borrow(readerPool);
    const { rows } = await reader.client.query('SELECT current_user::text AS role');
    await expect(
      reader.client.query(`INSERT INTO items (id, label) VALUES (501, 'denied')`),
    ).rejects.toThrow(/permission denied/);
    reader.release();
    expect(rows).toEqual([{ role: 'spec_reader' }]);

    const owner = await borrow(pool);
    const again = await owner.client.query('SELECT current_user::text AS role');
    owner.release();
    expect(again.rows).toEqual([{ role: 'postgres' }]);
  });

  it('hands the session on when a borrower cannot switch to its role', async () => {
    await expect(borrow(newPool(database, 'no_such_role'))).rejects.toThrow(/no_such_role/);
    const next = await borrow(pool);
    const { rows } = await next.client.query('SELECT 1 AS one');
    next.release();
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('answers pool.query directly, borrowing and releasing the session', async () => {
    const { Pool: EmbeddedPool } = database.driverFor(null);
    const direct = new EmbeddedPool() as unknown as Pool & Client;
    const first = await direct.query('SELECT $1::int AS n', [7]);
    const second = await direct.query('SELECT $1::int AS n', [8]);
    expect([first.rows, second.rows]).toEqual([[{ n: 7 }], [{ n: 8 }]]);
  });
});
