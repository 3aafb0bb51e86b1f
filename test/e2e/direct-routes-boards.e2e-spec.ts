import { randomUUID } from 'node:crypto';
import { directRoutesOf } from 'src/core/http/direct-routes';
import { createTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The hot board reads are @DirectRoute handlers. The same application with the dispatcher off
 * (BOARDS_API_DIRECT_ROUTES=false: every route through Nest's router) must answer every request
 * alike: status, body (but its request id), ETag and the headers clients read.
 */
describeWithPostgres('board reads with and without the direct dispatcher', () => {
  let db: TestDatabase;
  let direct: RunningApp;
  let nest: RunningApp;
  const owner = hs256Token({ sub: 'direct-owner', tenant: 'directs' });
  const stranger = hs256Token({ sub: 'direct-stranger', tenant: 'elsewhere' });
  let boardId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'directs');
    await createTenant(db.owner, 'elsewhere');
    const options = db.embedded ? { databaseTarget: db.target } : {};
    direct = await startApp(db.config(jwtAuthEnv()), options);
    nest = await startApp(db.config(jwtAuthEnv({ BOARDS_API_DIRECT_ROUTES: 'false' })), options);
    const created = await call(direct, 'POST', '/api/boards', {
      token: owner,
      body: { title: 'compared', description: 'read both ways' },
    });
    expect(created.status).toBe(201);
    boardId = String(created.body.id);
    for (let i = 0; i < 3; i++) {
      await call(direct, 'POST', '/api/boards', { token: owner, body: { title: `more ${i}` } });
    }
  }, 60_000);

  afterAll(async () => {
    await direct?.close();
    await nest?.close();
    await db?.drop();
  });

  it('the dispatcher serves exactly the two declared reads, and only when on', () => {
    expect(directRoutesOf(direct.app).sort()).toEqual([
      'GET /api/boards',
      'GET /api/boards/:board_id',
    ]);
    expect(directRoutesOf(nest.app)).toEqual([]);
  });

  const cases: [string, () => string, () => string | undefined][] = [
    ['a page of boards', () => '/api/boards', () => owner],
    [
      'a page with parameters',
      () => '/api/boards?limit=2&sort=created_asc&role=owner',
      () => owner,
    ],
    ['a search', () => '/api/boards?q=compared', () => owner],
    ['an unknown parameter', () => '/api/boards?tenant_id=x', () => owner],
    ['an invalid limit', () => '/api/boards?limit=0', () => owner],
    ['a malformed cursor', () => '/api/boards?cursor=%%%', () => owner],
    ['no token', () => '/api/boards', () => undefined],
    ['a board', () => `/api/boards/${boardId}`, () => owner],
    ['a board id that is not a UUID', () => '/api/boards/not-a-uuid', () => owner],
    ['a board that does not exist', () => `/api/boards/${randomUUID()}`, () => owner],
    ['a board of another tenant', () => `/api/boards/${boardId}`, () => stranger],
  ];

  it.each(cases)('%s: the same answer', async (_name, path, token) => {
    const viaDirect = await call(direct, 'GET', path(), { token: token() });
    const viaNest = await call(nest, 'GET', path(), { token: token() });
    expect(viaDirect.status).toBe(viaNest.status);
    const strip = (body: unknown) => {
      if (body === null || typeof body !== 'object') return body;
      const { request_id: _id, ...rest } = body as Record<string, unknown>;
      return rest;
    };
    expect(strip(viaDirect.body)).toEqual(strip(viaNest.body));
    for (const header of ['etag', 'content-type', 'cache-control', 'retry-after']) {
      expect([header, viaDirect.headers.get(header)]).toEqual([
        header,
        viaNest.headers.get(header),
      ]);
    }
    expect(viaDirect.headers.get('x-request-id')).toBeTruthy();
  });
});
