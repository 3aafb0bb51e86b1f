import { createTenant, inTenant, insertUser } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Over HTTP, a GET with `q` is a search (DESIGN.md §5 "Fairness"): its database time comes out of
 * the tenant's search budget, so a tenant whose searches spent it gets 429
 * search_budget_exhausted while another tenant's searches go on. List pages spend the tenant's
 * budget of bytes the same way (429 list_budget_exhausted).
 */

describeWithPostgres('searches and list pages over HTTP draw on budgets of their own', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let lists: RunningApp;
  let greedy: string;
  let other: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const slug of ['greedy', 'other']) {
      const tenant = await createTenant(db.owner, slug);
      await inTenant(db.owner, tenant.id, async (runner) => {
        const owner = await insertUser(runner, `${slug}-owner`);
        await runner.query(
          `INSERT INTO boards (owner_id, title, description, is_public)
           SELECT $1::uuid, 'board ' || i, repeat('lorem ipsum glacier ', 200), true
             FROM generate_series(1, 300) i`,
          [owner],
        );
      });
    }
    const options = db.embedded ? { databaseTarget: db.target } : {};
    // A search budget of one millisecond a second: the first search spends it, the next is refused.
    app = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_RATE_LIMIT_ENABLED: 'false',
          BOARDS_SEARCH_MS_PER_SECOND: '1',
          BOARDS_SEARCH_BURST_MS: '1',
        }),
      ),
      options,
    );
    // 1 KiB of list pages a second: the first page spends it, the next is refused.
    lists = await startApp(
      db.config(
        jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false', BOARDS_LIST_BYTES_PER_SECOND: '1024' }),
      ),
      options,
    );
    greedy = hs256Token({ sub: 'greedy-owner', tenant: 'greedy' });
    other = hs256Token({ sub: 'other-owner', tenant: 'other' });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await lists?.close();
    await db?.drop();
  });

  const get = (token: string, path: string, server = app) => call(server, 'GET', path, { token });

  it("a tenant past its search budget gets 429; another tenant's searches are served", async () => {
    expect((await get(greedy, '/api/boards?q=glacier&limit=5')).status).toBe(200);
    const refused = await get(greedy, '/api/boards?limit=5&q=glacier');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'search_budget_exhausted',
      status: 429,
      detail: expect.stringMatching(/searches have used their share of database time/),
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another tenant's budget is its own.
    expect((await get(other, '/api/boards?q=glacier&limit=5')).status).toBe(200);
  });

  it("a tenant whose pages carried its share of bytes gets 429 on lists; a board read and another tenant's lists go on", async () => {
    const first = await get(greedy, '/api/boards?limit=10', lists);
    expect(first.status).toBe(200);
    const refused = await get(greedy, '/api/boards?limit=10', lists);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'list_budget_exhausted', status: 429 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const boardId = String((first.body as { items: { id: string }[] }).items[0].id);
    expect((await get(greedy, `/api/boards/${boardId}`, lists)).status).toBe(200);
    expect((await get(other, '/api/boards?limit=10', lists)).status).toBe(200);
  });
});
