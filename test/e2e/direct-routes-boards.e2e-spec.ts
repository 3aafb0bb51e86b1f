import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ValidationPipe } from '@nestjs/common';
import { TenantTransactionInterceptor } from 'src/core/database/tenant-transaction.interceptor';
import { directRoutesOf } from 'src/core/http/direct-routes';
import { IdempotencyInterceptor } from 'src/modules/boards/idempotency.interceptor';
import { createTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The hot board routes (two reads and the create) are @DirectRoute handlers. The same application with the dispatcher off
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

  it('the dispatcher serves exactly the declared routes, and only when on', () => {
    expect(directRoutesOf(direct.app).sort()).toEqual([
      'GET /api/boards',
      'GET /api/boards/:board_id',
      'POST /api/boards',
    ]);
    expect(directRoutesOf(nest.app)).toEqual([]);
  });

  it('createApp puts the light AsyncResource bind in place (Fastify binds one per request body)', () => {
    expect(AsyncResource.prototype.bind.name).toBe('lightBind');
  });

  it('the create route runs its interceptors around a promise, not through observables', async () => {
    const around = jest.spyOn(TenantTransactionInterceptor.prototype, 'around');
    const intercept = jest.spyOn(TenantTransactionInterceptor.prototype, 'intercept');
    const keyedAround = jest.spyOn(IdempotencyInterceptor.prototype, 'around');
    try {
      const created = await call(direct, 'POST', '/api/boards', {
        token: owner,
        body: { title: 'around' },
        headers: { 'idempotency-key': randomUUID() },
      });
      expect(created.status).toBe(201);
      expect(around).toHaveBeenCalledTimes(1);
      expect(keyedAround).toHaveBeenCalledTimes(1);
      expect(intercept).not.toHaveBeenCalled();
      await call(nest, 'POST', '/api/boards', { token: owner, body: { title: 'through Nest' } });
      expect(intercept).toHaveBeenCalledTimes(1);
      expect(around).toHaveBeenCalledTimes(1);
    } finally {
      around.mockRestore();
      intercept.mockRestore();
      keyedAround.mockRestore();
    }
  });

  it('a create body the compiled check accepts skips the ValidationPipe; any other goes through it', async () => {
    const transform = jest.spyOn(ValidationPipe.prototype, 'transform');
    try {
      const created = await call(direct, 'POST', '/api/boards', {
        token: owner,
        body: { title: 'checked', settings: { a: [1] } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ title: 'checked', settings: { a: [1] } });
      expect(transform).not.toHaveBeenCalled();
      const refused = await call(direct, 'POST', '/api/boards', {
        token: owner,
        body: { title: 'checked', tenant_id: randomUUID() },
      });
      expect(refused.status).toBe(400);
      expect(transform).toHaveBeenCalledTimes(1);
      await call(nest, 'POST', '/api/boards', { token: owner, body: { title: 'through Nest' } });
      expect(transform).toHaveBeenCalledTimes(2);
    } finally {
      transform.mockRestore();
    }
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

  /** What two creates may differ in: the new board's id, times, ETag and the request id. */
  const comparable = (body: unknown) => {
    if (body === null || typeof body !== 'object') return body;
    const {
      request_id: _request,
      id: _id,
      created_at: _created,
      updated_at: _updated,
      ...rest
    } = body as Record<string, unknown>;
    return rest;
  };

  const writes: [
    string,
    Record<string, unknown> | string | undefined,
    () => string | undefined,
    Record<string, string>,
  ][] = [
    [
      'a board',
      { title: 'created both ways', settings: { a: 1 }, is_public: true },
      () => owner,
      {},
    ],
    ['a title too long', { title: 'x'.repeat(500) }, () => owner, {}],
    [
      'a title of 255 emoji (code points, not UTF-16 units)',
      { title: '😀'.repeat(255) },
      () => owner,
      {},
    ],
    [
      'settings with a key class-transformer drops',
      { title: 'dropped key', settings: { toString: 1, kept: 2 } },
      () => owner,
      {},
    ],
    ['a blank title', { title: '   ' }, () => owner, {}],
    ['an unknown field', { title: 'ok', tenant_id: randomUUID() }, () => owner, {}],
    ['a body that is not an object', '[1,2]', () => owner, {}],
    ['malformed JSON', '{"title":', () => owner, {}],
    ['no token', { title: 'anonymous' }, () => undefined, {}],
    [
      'a malformed Idempotency-Key',
      { title: 'keyed' },
      () => owner,
      { 'idempotency-key': 'bad key' },
    ],
  ];

  it.each(writes)('POST %s: the same answer', async (_name, body, token, headers) => {
    const send = (app: RunningApp) =>
      call(app, 'POST', '/api/boards', {
        token: token(),
        headers: { 'content-type': 'application/json', ...headers },
        ...(typeof body === 'string' ? {} : { body }),
      });
    const raw = (app: RunningApp) =>
      fetch(`${app.baseUrl}/api/boards`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token() ? { authorization: `Bearer ${token()}` } : {}),
          ...headers,
        },
        body: body as string,
      }).then(async (response) => ({
        status: response.status,
        headers: response.headers,
        body: JSON.parse(await response.text()) as unknown,
      }));
    const viaDirect = typeof body === 'string' ? await raw(direct) : await send(direct);
    const viaNest = typeof body === 'string' ? await raw(nest) : await send(nest);
    expect(viaDirect.status).toBe(viaNest.status);
    expect(comparable(viaDirect.body)).toEqual(comparable(viaNest.body));
    for (const header of ['content-type', 'cache-control', 'retry-after']) {
      expect([header, viaDirect.headers.get(header)]).toEqual([
        header,
        viaNest.headers.get(header),
      ]);
    }
    // A created board has its own Location and ETag, of the same form both ways.
    const form = (value: string | null) => value?.replace(/[0-9a-f-]{36}|"[^"]*"/g, '…') ?? null;
    for (const header of ['location', 'etag']) {
      expect([header, form(viaDirect.headers.get(header))]).toEqual([
        header,
        form(viaNest.headers.get(header)),
      ]);
    }
  });

  it('POST with an Idempotency-Key: created once, replayed by either dispatcher', async () => {
    const key = `direct-${randomUUID()}`;
    const body = { title: `idempotent ${key}` };
    const first = await call(direct, 'POST', '/api/boards', {
      token: owner,
      body,
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    const again = await call(nest, 'POST', '/api/boards', {
      token: owner,
      body,
      headers: { 'idempotency-key': key },
    });
    const replayed = await call(direct, 'POST', '/api/boards', {
      token: owner,
      body,
      headers: { 'idempotency-key': key },
    });
    for (const reply of [again, replayed]) {
      expect(reply.status).toBe(201);
      expect(reply.headers.get('idempotent-replayed')).toBe('true');
      expect(reply.body).toEqual(first.body);
      expect(reply.headers.get('location')).toBe(first.headers.get('location'));
    }
    const other = await call(direct, 'POST', '/api/boards', {
      token: owner,
      body: { title: 'another' },
      headers: { 'idempotency-key': key },
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const listed = await call<{ items: { title: string }[] }>(
      direct,
      'GET',
      `/api/boards?q=${encodeURIComponent(key)}`,
      { token: owner },
    );
    expect(listed.body.items.map((item) => item.title)).toEqual([body.title]);
  });
});
