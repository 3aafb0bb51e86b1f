import { createTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Concurrent writes through HTTP against a real PostgreSQL server (a pool of 10 connections):
 * If-Match gives exactly one winner, unconditional updates never lose one another, and one
 * Idempotency-Key creates exactly one board however many copies of the request race.
 */

interface Board {
  id: string;
  title: string;
  description: string | null;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
  version: number;
}

describeWithPostgres('boards: concurrent writes', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;
  let token: string;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 10 });
    const slug = uniqueMarker('conc');
    await createTenant(db.owner, slug);
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_RATE_LIMIT_ENABLED: 'false',
          // 50 writes of one tenant at once queue for its share of the pool; on a loaded machine
          // some would wait past the default second and be refused (fairness is tested elsewhere).
          BOARDS_DATABASE_TENANT_QUEUE_MS: '15000',
        }),
      ),
    );
    api = apiClient(server.baseUrl);
    token = hs256Token({ sub: 'racer', tenant: slug });
    await whoAmI(api, token);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  async function newBoard(title: string): Promise<{ board: Board; etag: string }> {
    const created = await api<Board>({
      method: 'POST',
      path: '/api/boards',
      token,
      body: { title },
    });
    expect(created.status).toBe(201);
    return { board: created.body, etag: created.headers.get('etag') as string };
  }

  it('50 concurrent PATCHes with the same If-Match: exactly one 200, 49 × 412, version + 1', async () => {
    const { board, etag } = await newBoard('If-Match race');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api<Board>({
          method: 'PATCH',
          path: `/api/boards/${board.id}`,
          token,
          headers: { 'if-match': etag },
          body: { title: `winner ${i}` },
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(49);
    const winner = responses.find((r) => r.status === 200);
    const final = await api<Board>({ method: 'GET', path: `/api/boards/${board.id}`, token });
    expect(final.body.version).toBe(board.version + 1);
    expect(final.body.title).toBe(winner?.body.title);
    expect(final.headers.get('etag')).toBe(winner?.headers.get('etag'));
  });

  it('50 concurrent PATCHes without If-Match to different fields: none is lost', async () => {
    const { board } = await newBoard('Lost-update race');
    // Each request changes one field to a distinct value; the three fields interleave.
    const bodies = Array.from({ length: 50 }, (_, i) => {
      if (i % 3 === 0) return { title: `title ${i}` };
      if (i % 3 === 1) return { description: `description ${i}` };
      return { settings: { writer: i } };
    });
    const responses = await Promise.all(
      bodies.map((body) =>
        api<Board>({ method: 'PATCH', path: `/api/boards/${board.id}`, token, body }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    // Every write got its own version: they were applied one after another.
    const versions = responses.map((r) => r.body.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => board.version + 1 + i));

    const final = (await api<Board>({ method: 'GET', path: `/api/boards/${board.id}`, token }))
      .body;
    expect(final.version).toBe(board.version + 50);
    // The last writer of each field (by version) is what the board holds.
    const last = (pick: (body: Record<string, unknown>) => unknown) =>
      responses
        .map((r, i) => ({ version: r.body.version, value: pick(bodies[i]) }))
        .filter((entry) => entry.value !== undefined)
        .sort((a, b) => b.version - a.version)[0].value;
    expect(final.title).toBe(last((body) => body.title));
    expect(final.description).toBe(last((body) => body.description));
    expect(final.settings).toEqual(last((body) => body.settings));
  });

  it('100 concurrent POSTs with one Idempotency-Key: exactly one board; each answer is 201 (same board) or 409', async () => {
    const marker = uniqueMarker('idem-race');
    const body = { title: `${marker} board`, settings: { copy: true } };
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        api<Board>({
          method: 'POST',
          path: '/api/boards',
          token,
          headers: { 'idempotency-key': marker },
          body,
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const conflict of responses.filter((r) => r.status === 409)) {
      expect(conflict.body).toMatchObject({ status: 409, error: 'Conflict' });
    }

    const listed = await api<{ items: Board[] }>({
      method: 'GET',
      path: `/api/boards?q=${marker}`,
      token,
    });
    expect(listed.body.items.map((b) => b.id)).toEqual([created[0].body.id]);
    // After the race the key replays the stored response.
    const retry = await api<Board>({
      method: 'POST',
      path: '/api/boards',
      token,
      headers: { 'idempotency-key': marker },
      body,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.id).toBe(created[0].body.id);
  });
});
