import { createTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv, PLATFORM_ADMIN_SUBJECT } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type Reply, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Inputs that pass a naive validation but that PostgreSQL refuses (null in NOT NULL columns,
 * blank names, NUL characters, malformed cursors and entity tags) answer 4xx with the documented
 * body — never a 500 — and change nothing.
 */
describeWithPostgres('input hardening: no client input reaches the database as a 500', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let owner: string;
  let admin: string;
  let boardId: string;
  let tenantId: string;

  function expectClientError(answer: Reply<unknown>, status = 400): void {
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({
      status,
      error: expect.any(String),
      detail: expect.any(String),
    });
    expect(JSON.stringify(answer.body)).not.toMatch(
      /violates|constraint|SELECT|UPDATE|INSERT|0x00/i,
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ id: tenantId } = await createTenant(db.owner, 'hardening'));
    app = await startApp(db.config(jwtAuthEnv({ BOARDS_MULTI_TENANT_MODE: 'true' })));
    owner = hs256Token({ sub: 'hardening-owner', tenant: 'hardening' });
    admin = hs256Token({ sub: PLATFORM_ADMIN_SUBJECT });
    const created = await call(app, 'POST', '/api/boards', {
      token: owner,
      body: { title: 'Original title' },
    });
    expect(created.status).toBe(201);
    boardId = String(created.body.id);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it.each([
    ['title null', { title: null }],
    ['is_public null', { is_public: null }],
    ['settings null', { settings: null }],
    ['metadata null', { metadata: null }],
    ['blank title', { title: '   ' }],
    ['NUL in the title', { title: 'a\u0000b' }],
    ['NUL inside settings', { settings: { note: 'x\u0000y' } }],
  ])('PATCH a board with %s is 400 and the board is unchanged', async (_, patch) => {
    expectClientError(
      await call(app, 'PATCH', `/api/boards/${boardId}`, { token: owner, body: patch }),
    );
    const board = await call(app, 'GET', `/api/boards/${boardId}`, { token: owner });
    expect(board.body).toMatchObject({ title: 'Original title', version: 1 });
  });

  it.each([
    ['a NUL character in q', '/api/boards?q=%00'],
    [
      'a cursor whose id is 36 hyphens',
      `/api/boards?cursor=${Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', '-'.repeat(36)])).toString('base64url')}`,
    ],
    [
      'a cursor with a non-ISO date',
      `/api/boards?cursor=${Buffer.from(JSON.stringify(['Jan 1 2026', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`,
    ],
  ])('listing with %s is 400', async (_, path) => {
    expectClientError(await call(app, 'GET', path, { token: owner }));
  });

  it('a malformed If-Match is 400; a list of entity tags matches when one of them does', async () => {
    expectClientError(
      await call(app, 'PATCH', `/api/boards/${boardId}`, {
        token: owner,
        headers: { 'if-match': 'not-an-etag' },
        body: { description: 'x' },
      }),
    );
    const current = `"${boardId}.1"`;
    const matched = await call(app, 'PATCH', `/api/boards/${boardId}`, {
      token: owner,
      headers: { 'if-match': `"stale", ${current}` },
      body: { description: 'x' },
    });
    expect(matched.status).toBe(200);
  });

  it('a tenant name of spaces or null is 400 for the platform admin too', async () => {
    expectClientError(
      await call(app, 'POST', '/api/setup/tenant', {
        token: admin,
        body: { name: '   ', slug: 'blank-name' },
      }),
    );
    expectClientError(
      await call(app, 'PUT', `/api/setup/tenant/${tenantId}`, {
        token: admin,
        body: { name: null },
      }),
    );
    expectClientError(
      await call(app, 'POST', '/api/setup/tenant', {
        token: admin,
        body: { name: 'Null slug', slug: null },
      }),
    );
    const [{ n }] = (await db.owner.query(
      `SELECT count(*)::int AS n FROM tenants WHERE slug = 'blank-name'`,
    )) as { n: number }[];
    expect(n).toBe(0);
  });
});
