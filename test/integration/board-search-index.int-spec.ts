import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { searchUsesIndexes } from 'src/core/database/search-index';
import { routeClassStatements } from 'src/core/database/transaction-settings';
import {
  SEARCH_WINDOW,
  boardListStatement,
  type BoardListQuery,
} from 'src/modules/boards/boards.repository';
import { createTenant, inTenant, insertUser } from 'test/factories/seed';
import { seededRandom } from 'test/factories/random';
import { describeWithPostgres } from 'test/support/environment';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Search is answered from the trigram indexes, not by reading every board of the tenant
 * (DESIGN.md §5 "Fairness"): the plan of the very statement the board list runs, as the runtime
 * role inside a tenant transaction, has no sequential scan of boards and uses
 * boards_title_trgm_idx and boards_description_trgm_idx with the pattern bound (search statements
 * are never prepared by name, so this is the plan they always get).
 */

const BOARDS = 5_000;
const WORDS = ['aurora', 'basalt', 'cobalt', 'delta', 'ember', 'fjord', 'glacier', 'harbor'];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

describeWithPostgres('board search through the trigram indexes', () => {
  let db: TestDatabase;
  let tenantId: string;
  let userId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    tenantId = (await createTenant(db.owner, 'searching')).id;
    const other = await createTenant(db.owner, 'bystander');
    const random = seededRandom(16);
    const text = (words: number) =>
      Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
    for (const [id, count] of [
      [tenantId, BOARDS],
      [other.id, BOARDS / 4],
    ] as const) {
      await inTenant(db.owner, id, async (runner) => {
        const owner = await insertUser(runner, `owner-${id}`);
        if (id === tenantId) userId = owner;
        // About 10 KB of words per description, as in the noisy-neighbour scenario (DESIGN §5).
        await runner.query(
          `INSERT INTO boards (owner_id, title, description, is_public)
           SELECT $1::uuid, 'board ' || i || ' ' || $2,
                  (SELECT string_agg(w[1 + (i * 7 + j * 13) % array_length(w, 1)] || (j % 97), ' ')
                     FROM generate_series(1, 1200) AS j, (SELECT $3::text[] AS w) words),
                  i % 3 = 0
             FROM generate_series(1, $4::int) AS i`,
          [owner, text(3), WORDS, count],
        );
        // A few boards with a rare word, so the search is selective.
        await runner.query(
          `UPDATE boards SET description = description || ' quokka' WHERE title LIKE 'board 1_ %'`,
        );
      });
    }
    await db.owner.query('ANALYZE boards');
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  });

  const listQuery = (search: string): BoardListQuery => ({
    tenantId,
    userId,
    role: 'any',
    search,
    sort: 'updated_desc',
    limit: 20,
  });

  /** The plan of the list statement with the pattern bound, as `runner` would run it. */
  async function planOf(runner: QueryRunner, search: string): Promise<PlanNode[]> {
    // The settings a search transaction opens with (statement timeout, no sequential scan).
    await runner.query(`SELECT true; ${routeClassStatements(db.config(), 'search').join('; ')}`);
    const { sql, params } = boardListStatement(listQuery(search));
    const [row] = (await runner.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)) as {
      'QUERY PLAN': [{ Plan: PlanNode }];
    }[];
    return nodesOf(row['QUERY PLAN'][0].Plan);
  }

  const boardScans = (nodes: PlanNode[]) =>
    nodes
      .filter((node) => node['Relation Name'] === 'boards' && node['Node Type'].includes('Scan'))
      .map((node) => node['Node Type']);
  const indexesOf = (nodes: PlanNode[]) => nodes.map((node) => node['Index Name']).filter(Boolean);

  it('reads boards only through the trigram indexes, as the runtime role under row-level security', async () => {
    expect(await searchUsesIndexes(db.runtime)).toBe(true);
    const nodes = await inTenant(db.runtime, tenantId, (runner) => planOf(runner, 'quokka'));
    expect(boardScans(nodes)).not.toContain('Seq Scan');
    expect(indexesOf(nodes)).toEqual(
      expect.arrayContaining(['boards_title_trgm_idx', 'boards_description_trgm_idx']),
    );
  });

  it('without ILIKE marked leakproof, row-level security keeps the pattern out of the indexes', async () => {
    // Why the install's superuser marks it (deploy/postgres-init.sql): the same statement, same
    // role, with the mark taken away inside a transaction that is rolled back.
    const admin = new Client({ connectionString: adminUrlOf(db) });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('ALTER FUNCTION pg_catalog.texticlike(text, text) NOT LEAKPROOF');
      await admin.query(`SET LOCAL ROLE ${db.runtimeRole}`);
      // A UUID the test made: safe as a literal.
      await admin.query(
        `SET LOCAL app.tenant_id = '${tenantId}'; ${routeClassStatements(db.config(), 'search').join('; ')}`,
      );
      const { sql, params } = boardListStatement(listQuery('quokka'));
      const { rows } = await admin.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) ${sql}`,
        params,
      );
      const nodes = nodesOf(rows[0]['QUERY PLAN'][0].Plan);
      expect(indexesOf(nodes)).not.toContain('boards_description_trgm_idx');
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
    expect(await searchUsesIndexes(db.runtime)).toBe(true);
  });

  it('a full window of the newest boards gives the same first page as the indexed search', async () => {
    let compared = 0;
    for (const search of ['aurora', 'quokka', 'BOARD 1', 'glacier 9']) {
      for (const limit of [5, 20]) {
        const query = { ...listQuery(search), limit };
        const run = (statement: { sql: string; params: unknown[] }) =>
          inTenant(db.runtime, tenantId, (runner) =>
            runner.query(statement.sql, statement.params),
          ) as Promise<{ id: string }[]>;
        const windowed = await run(boardListStatement(query, SEARCH_WINDOW));
        const full = await run(boardListStatement(query));
        if (windowed.length > limit) {
          // The repository takes the window's page only when it is full: then it is the same.
          expect(windowed.map((row) => row.id)).toEqual(full.map((row) => row.id));
          compared++;
          // And the next page goes on from its last row the same way.
          const after = { value: '', id: windowed[limit - 1].id };
          const [{ updated_at: value }] = (await inTenant(db.runtime, tenantId, (runner) =>
            runner.query(`SELECT updated_at FROM boards WHERE id = $1`, [after.id]),
          )) as { updated_at: Date }[];
          const next = { ...query, after: { value: value.toISOString(), id: after.id } };
          const nextWindowed = await run(boardListStatement(next, SEARCH_WINDOW));
          const nextFull = await run(boardListStatement(next));
          if (nextWindowed.length > limit) {
            expect(nextWindowed.map((row) => row.id)).toEqual(nextFull.map((row) => row.id));
          }
        } else {
          // Fewer matches among the newest: the window says nothing about the rest.
          expect(windowed.length).toBeLessThanOrEqual(full.length);
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('the statement finds exactly the matching boards of the tenant, in the RLS-bound transaction', async () => {
    const { sql, params } = boardListStatement({ ...listQuery('QUOKKA'), limit: 1_000 });
    const rows = (await inTenant(db.runtime, tenantId, (runner) => runner.query(sql, params))) as {
      title: string;
      tenant_id: string;
      description: string;
    }[];
    const [{ n: expected }] = (await inTenant(db.owner, tenantId, (runner) =>
      runner.query(
        `SELECT count(*)::int AS n FROM boards WHERE description ILIKE '%quokka%' OR title ILIKE '%quokka%'`,
      ),
    )) as { n: number }[];
    expect(expected).toBeGreaterThan(0);
    expect(rows).toHaveLength(expected);
    for (const row of rows) {
      expect(row.tenant_id).toBe(tenantId);
      expect(row.description.toLowerCase()).toContain('quokka');
    }
  });
});
