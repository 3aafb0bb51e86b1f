import { randomUUID } from 'node:crypto';
import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api, type ApiResult } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The boards API route by route (DESIGN.md §3–4, README "Tenants and users"): listing with role,
 * search, sort and cursor pagination; create/get/patch/delete with Location, ETag and If-Match;
 * ownership transfer; members with public profiles only; generations; input validation and the
 * documented error bodies; Idempotency-Key; audit events for every mutation.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BODY_LIMIT = 128 * 1024;

interface Board {
  id: string;
  title: string;
  description: string | null;
  is_public: boolean;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
  owner_id: string;
  owner: { id: string; display_name: string | null; avatar_url: string | null } | null;
  my_role: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}
interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
interface Generation {
  id: string;
  board_id: string;
  user_id: string;
  generator_name: string;
  artifact_type: string;
  input_params: Record<string, unknown>;
  status: string;
}
interface AuditEvent {
  action: string;
  actor_id: string | null;
  target_type: string;
  target_id: string | null;
}

/** A response body without its request_id, to compare two answers. */
const exceptRequestId = (result: ApiResult) => ({ ...(result.body as object), request_id: null });

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The documented error body, with request_id equal to the X-Request-Id header. */
function expectErrorBody(response: ApiResult, status: number, detail?: string | RegExp): void {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({
    error: expect.any(String),
    detail:
      detail === undefined
        ? expect.any(String)
        : detail instanceof RegExp
          ? expect.stringMatching(detail)
          : detail,
    status,
    request_id: response.headers.get('x-request-id'),
  });
}

describeWithPostgres('boards API: routes, validation, idempotency, audit', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;
  let slug: string;
  let tenantId: string;
  const tokens = { admin: '', alice: '', bob: '', carol: '' };
  const ids = { admin: '', alice: '', bob: '', carol: '' };
  const people = {
    alice: { sub: 'api-alice', email: 'alice.secret@api.test', name: 'Alice Api' },
    bob: { sub: 'api-bob', email: 'bob.secret@api.test', name: 'Bob Api' },
    carol: { sub: 'api-carol', email: 'carol.secret@api.test', name: 'Carol Api' },
  };
  /** A user of another tenant. */
  let strangerId: string;

  const createBoard = (
    token: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => api<Board>({ method: 'POST', path: '/api/boards', token, body, headers });

  async function boardOf(token: string, body: Record<string, unknown>): Promise<Board> {
    const response = await createBoard(token, body);
    expect(response.status).toBe(201);
    return response.body;
  }

  async function listAll<T>(token: string, path: string): Promise<T[]> {
    const response = await api<Page<T>>({ method: 'GET', path, token });
    expect(response.status).toBe(200);
    return response.body.items;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    slug = uniqueMarker('api');
    tenantId = (await createTenant(db.owner, slug)).id;
    const otherSlug = uniqueMarker('api-other');
    await createTenant(db.owner, otherSlug);
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_ENABLE_AUDIT_LOGGING: 'true',
          BOARDS_API_BODY_LIMIT_BYTES: String(BODY_LIMIT),
          BOARDS_RATE_LIMIT_ENABLED: 'false',
        }),
      ),
    );
    api = apiClient(server.baseUrl);
    tokens.admin = hs256Token({ sub: 'api-admin', tenant: slug });
    ids.admin = (await whoAmI(api, tokens.admin)).userId;
    for (const name of ['alice', 'bob', 'carol'] as const) {
      tokens[name] = hs256Token({ ...people[name], tenant: slug });
      ids[name] = (await whoAmI(api, tokens[name])).userId;
    }
    strangerId = (await whoAmI(api, hs256Token({ sub: 'stranger', tenant: otherSlug }))).userId;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  describe('boards', () => {
    it('POST /api/boards is 201 with the board, Location and ETag; GET returns the same with the same ETag', async () => {
      const created = await createBoard(tokens.alice, {
        title: 'Spring campaign',
        description: 'Mood and references',
        is_public: false,
        settings: { theme: 'dark', grid: { columns: 4 } },
        metadata: { source: 'e2e' },
      });
      expect(created.status).toBe(201);
      const board = created.body;
      expect(board).toEqual({
        id: expect.stringMatching(UUID),
        title: 'Spring campaign',
        description: 'Mood and references',
        is_public: false,
        settings: { theme: 'dark', grid: { columns: 4 } },
        metadata: { source: 'e2e' },
        owner_id: ids.alice,
        owner: { id: ids.alice, display_name: 'Alice Api', avatar_url: null },
        my_role: 'owner',
        version: 1,
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
      });
      expect(created.headers.get('location')).toBe(`/api/boards/${board.id}`);
      const etag = created.headers.get('etag');
      expect(etag).toMatch(/^"[^"]+"$/);

      const fetched = await api<Board>({
        method: 'GET',
        path: `/api/boards/${board.id}`,
        token: tokens.alice,
      });
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(board);
      expect(fetched.headers.get('etag')).toBe(etag);
    });

    it('defaults: description null, private, empty settings and metadata', async () => {
      const board = await boardOf(tokens.alice, { title: 'Bare' });
      expect(board).toMatchObject({
        description: null,
        is_public: false,
        settings: {},
        metadata: {},
      });
    });

    it('PATCH with a matching If-Match is 200 with a new ETag; a stale one is 412; * always matches', async () => {
      const created = await createBoard(tokens.alice, { title: 'Etags' });
      const path = `/api/boards/${created.body.id}`;
      const first = created.headers.get('etag') as string;

      const matched = await api<Board>({
        method: 'PATCH',
        path,
        token: tokens.alice,
        headers: { 'if-match': first },
        body: { title: 'Etags v2' },
      });
      expect(matched.status).toBe(200);
      expect(matched.body).toMatchObject({ title: 'Etags v2', version: 2 });
      const second = matched.headers.get('etag');
      expect(second).toMatch(/^"[^"]+"$/);
      expect(second).not.toBe(first);
      const read = await api({ method: 'GET', path, token: tokens.alice });
      expect(read.headers.get('etag')).toBe(second);

      const stale = await api({
        method: 'PATCH',
        path,
        token: tokens.alice,
        headers: { 'if-match': first },
        body: { title: 'lost update' },
      });
      expectErrorBody(stale, 412);
      expect((await api<Board>({ method: 'GET', path, token: tokens.alice })).body.title).toBe(
        'Etags v2',
      );

      const star = await api<Board>({
        method: 'PATCH',
        path,
        token: tokens.alice,
        headers: { 'if-match': '*' },
        body: { description: 'any version' },
      });
      expect(star.status).toBe(200);
      expect(star.body).toMatchObject({
        title: 'Etags v2',
        description: 'any version',
        version: 3,
      });

      const unconditional = await api<Board>({
        method: 'PATCH',
        path,
        token: tokens.alice,
        body: { settings: { a: 1 }, metadata: { b: 2 }, description: null },
      });
      expect(unconditional.status).toBe(200);
      expect(unconditional.body).toMatchObject({
        settings: { a: 1 },
        metadata: { b: 2 },
        description: null,
        version: 4,
      });
    });

    it('DELETE is 204 with no body; the board is then 404, and so is a second DELETE', async () => {
      const board = await boardOf(tokens.alice, { title: 'Short-lived' });
      const path = `/api/boards/${board.id}`;
      const deleted = await api({ method: 'DELETE', path, token: tokens.alice });
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expectErrorBody(await api({ method: 'GET', path, token: tokens.alice }), 404);
      expectErrorBody(await api({ method: 'DELETE', path, token: tokens.alice }), 404);
    });

    it('transfer hands the board to another user, who becomes owner; the old owner stays as admin', async () => {
      const board = await boardOf(tokens.alice, { title: 'Handover' });
      const path = `/api/boards/${board.id}`;
      const transferred = await api<Board>({
        method: 'POST',
        path: `${path}/transfer`,
        token: tokens.alice,
        body: { new_owner_id: ids.bob },
      });
      expect(transferred.status).toBe(200);
      expect(transferred.body).toMatchObject({ owner_id: ids.bob, my_role: 'admin' });
      expect(transferred.headers.get('etag')).toMatch(/^"[^"]+"$/);

      const asBob = await api<Board>({ method: 'GET', path, token: tokens.bob });
      expect(asBob.body).toMatchObject({ owner_id: ids.bob, my_role: 'owner' });
      const members = await api<{ items: { user_id: string; role: string }[] }>({
        method: 'GET',
        path: `${path}/members`,
        token: tokens.bob,
      });
      expect(members.body.items.map((m) => [m.user_id, m.role])).toEqual([[ids.alice, 'admin']]);
      // Only the (new) owner deletes now.
      expect((await api({ method: 'DELETE', path, token: tokens.alice })).status).toBe(403);
    });

    it('transfer to a user of another tenant or to nobody is 404 and changes nothing', async () => {
      const board = await boardOf(tokens.alice, { title: 'Stays home' });
      const path = `/api/boards/${board.id}`;
      const foreign = await api({
        method: 'POST',
        path: `${path}/transfer`,
        token: tokens.alice,
        body: { new_owner_id: strangerId },
      });
      const missing = await api({
        method: 'POST',
        path: `${path}/transfer`,
        token: tokens.alice,
        body: { new_owner_id: randomUUID() },
      });
      expectErrorBody(foreign, 404);
      expect(exceptRequestId(foreign)).toEqual(exceptRequestId(missing));
      expect((await api<Board>({ method: 'GET', path, token: tokens.alice })).body).toEqual(board);
    });
  });

  describe('listing', () => {
    it('role=any lists owned, member-of and public boards; owner and member narrow it', async () => {
      const m = uniqueMarker('roles');
      const own = await boardOf(tokens.alice, { title: `${m} own` });
      const shared = await boardOf(tokens.bob, { title: `${m} shared` });
      const open = await boardOf(tokens.bob, { title: `${m} public`, is_public: true });
      await boardOf(tokens.carol, { title: `${m} hidden` });
      const added = await api({
        method: 'POST',
        path: `/api/boards/${shared.id}/members`,
        token: tokens.bob,
        body: { user_id: ids.alice, role: 'viewer' },
      });
      expect(added.status).toBe(201);

      const titles = async (role?: string) =>
        (
          await listAll<Board>(
            tokens.alice,
            `/api/boards?q=${encodeURIComponent(m)}&sort=created_asc${role ? `&role=${role}` : ''}`,
          )
        ).map((b) => b.title);
      expect(await titles()).toEqual([own.title, shared.title, open.title]);
      expect(await titles('any')).toEqual([own.title, shared.title, open.title]);
      expect(await titles('owner')).toEqual([own.title]);
      expect(await titles('member')).toEqual([shared.title]);
      const roles = (await listAll<Board>(tokens.alice, `/api/boards?q=${m}&sort=created_asc`)).map(
        (b) => b.my_role,
      );
      expect(roles).toEqual(['owner', 'viewer', null]);
      expectErrorBody(
        await api({ method: 'GET', path: '/api/boards?role=admin', token: tokens.alice }),
        400,
      );
    });

    it('q searches title and description case-insensitively and matches % and _ literally', async () => {
      const m = uniqueMarker('search');
      const upper = await boardOf(tokens.alice, { title: `${m.toUpperCase()} Spring` });
      const described = await boardOf(tokens.alice, {
        title: 'plain',
        description: `about ${m} here`,
      });
      const percent = await boardOf(tokens.alice, { title: `${m} 100% off` });
      await boardOf(tokens.alice, { title: `${m} 1000 off` });
      const underscore = await boardOf(tokens.alice, { title: `${m} snake_case` });
      await boardOf(tokens.alice, { title: `${m} snakeXcase` });
      const backslash = await boardOf(tokens.alice, { title: `${m} back\\slash` });

      const found = async (q: string) =>
        (
          await listAll<Board>(
            tokens.alice,
            `/api/boards?limit=100&sort=created_asc&q=${encodeURIComponent(q)}`,
          )
        ).map((b) => b.id);
      expect(await found(m)).toHaveLength(7);
      expect(await found(m.toUpperCase())).toHaveLength(7);
      expect(await found(`${m.toUpperCase()} SPRING`)).toEqual([upper.id]);
      expect(await found(`about ${m}`)).toEqual([described.id]);
      expect(await found(`${m} 100%`)).toEqual([percent.id]);
      expect(await found(`${m} snake_case`)).toEqual([underscore.id]);
      expect(await found(`${m} back\\`)).toEqual([backslash.id]);
      expect(await found('% off')).toEqual([percent.id]);
      expect(await found(`${m}_`)).toEqual([]);
    });

    it('sort orders by updated or created time, either way', async () => {
      const m = uniqueMarker('sort');
      const made: Board[] = [];
      for (let i = 0; i < 4; i += 1) {
        made.push(await boardOf(tokens.alice, { title: `${m} ${i}` }));
        await sleep(5);
      }
      const patched = await api({
        method: 'PATCH',
        path: `/api/boards/${made[1].id}`,
        token: tokens.alice,
        body: { title: `${m} 1 touched` },
      });
      expect(patched.status).toBe(200);
      const order = async (sort?: string) =>
        (
          await listAll<Board>(tokens.alice, `/api/boards?q=${m}${sort ? `&sort=${sort}` : ''}`)
        ).map((b) => made.findIndex((x) => x.id === b.id));
      expect(await order('created_asc')).toEqual([0, 1, 2, 3]);
      expect(await order('created_desc')).toEqual([3, 2, 1, 0]);
      expect(await order('updated_desc')).toEqual([1, 3, 2, 0]);
      expect(await order('updated_asc')).toEqual([0, 2, 3, 1]);
      expect(await order()).toEqual([1, 3, 2, 0]);
      expectErrorBody(
        await api({ method: 'GET', path: '/api/boards?sort=title', token: tokens.alice }),
        400,
      );
    });

    it('cursor pagination: default 20, limit 1–100, every board exactly once across pages, in every sort', async () => {
      const m = uniqueMarker('pages');
      const made: string[] = [];
      for (let i = 0; i < 23; i += 1)
        made.push((await boardOf(tokens.alice, { title: `${m} ${i}` })).id);

      const first = await api<Page<Board>>({
        method: 'GET',
        path: `/api/boards?q=${m}`,
        token: tokens.alice,
      });
      expect(first.body.items).toHaveLength(20);
      expect(first.body.next_cursor).toEqual(expect.any(String));

      for (const sort of ['updated_desc', 'updated_asc', 'created_desc', 'created_asc']) {
        const whole = (
          await listAll<Board>(tokens.alice, `/api/boards?q=${m}&sort=${sort}&limit=100`)
        ).map((b) => b.id);
        expect(whole).toHaveLength(23);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = `/api/boards?q=${m}&sort=${sort}&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page: ApiResult<Page<Board>> = await api<Page<Board>>({
            method: 'GET',
            path: query,
            token: tokens.alice,
          });
          expect(page.status).toBe(200);
          expect(page.body.items.length).toBeLessThanOrEqual(5);
          seen.push(...page.body.items.map((b) => b.id));
          cursor = page.body.next_cursor;
          pages += 1;
        } while (cursor !== null && pages < 10);
        expect(pages).toBe(5);
        expect(seen).toEqual(whole);
        expect(new Set(seen).size).toBe(23);
        expect([...seen].sort()).toEqual([...made].sort());
      }
    });

    it.each([
      ['limit=0'],
      ['limit=101'],
      ['limit=abc'],
      ['limit=2.5'],
      ['cursor=not-a-cursor'],
      [`cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`],
      [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`],
      [`cursor=${'a'.repeat(600)}`],
      ['q=' + 'x'.repeat(201)],
    ])('GET /api/boards?%s is 400 with the error body', async (query) => {
      expectErrorBody(
        await api({ method: 'GET', path: `/api/boards?${query}`, token: tokens.alice }),
        400,
      );
    });

    it('limit=1 and limit=100 are accepted', async () => {
      for (const limit of [1, 100]) {
        const response = await api<Page<Board>>({
          method: 'GET',
          path: `/api/boards?limit=${limit}`,
          token: tokens.alice,
        });
        expect(response.status).toBe(200);
        expect(response.body.items.length).toBeLessThanOrEqual(limit);
      }
    });
  });

  describe('members', () => {
    it('lists members and owner with public profile fields only: no e-mail, no auth subject', async () => {
      const board = await boardOf(tokens.alice, { title: 'Profiles', is_public: true });
      for (const [name, role] of [
        ['bob', 'editor'],
        ['carol', 'viewer'],
      ] as const) {
        const added = await api<{
          user_id: string;
          role: string;
          user: object;
          invited_by: string;
          joined_at: string;
        }>({
          method: 'POST',
          path: `/api/boards/${board.id}/members`,
          token: tokens.alice,
          body: { user_id: ids[name], role },
        });
        expect(added.status).toBe(201);
        expect(added.body).toEqual({
          user_id: ids[name],
          role,
          user: { id: ids[name], display_name: people[name].name, avatar_url: null },
          invited_by: ids.alice,
          joined_at: expect.stringMatching(ISO),
        });
      }
      // As a member, and as a non-member of the public board (the tenant admin).
      for (const token of [tokens.carol, tokens.admin]) {
        const members = await api<{ items: { user: object }[]; owner: object }>({
          method: 'GET',
          path: `/api/boards/${board.id}/members`,
          token,
        });
        expect(members.status).toBe(200);
        expect(members.body.owner).toEqual({
          id: ids.alice,
          display_name: 'Alice Api',
          avatar_url: null,
        });
        expect(members.body.items.map((m) => Object.keys(m.user).sort())).toEqual([
          ['avatar_url', 'display_name', 'id'],
          ['avatar_url', 'display_name', 'id'],
        ]);
        for (const secret of [
          'email',
          'auth_subject',
          'subject',
          '@api.test',
          'api-alice',
          'api-bob',
          'api-carol',
        ]) {
          expect(members.text).not.toContain(secret);
        }
        const read = await api({ method: 'GET', path: `/api/boards/${board.id}`, token });
        for (const secret of ['email', 'auth_subject', '@api.test', 'api-alice'])
          expect(read.text).not.toContain(secret);
      }
    });

    it('adding a user of another tenant is 404 exactly like a user that does not exist', async () => {
      const board = await boardOf(tokens.alice, { title: 'No strangers' });
      const path = `/api/boards/${board.id}/members`;
      const foreign = await api({
        method: 'POST',
        path,
        token: tokens.alice,
        body: { user_id: strangerId },
      });
      const missing = await api({
        method: 'POST',
        path,
        token: tokens.alice,
        body: { user_id: randomUUID() },
      });
      expectErrorBody(foreign, 404);
      expect(exceptRequestId(foreign)).toEqual(exceptRequestId(missing));
      expect(await listAll(tokens.alice, path)).toEqual([]);
    });

    it('add, change role, remove; adding twice is 409, the owner cannot be added, unknown member is 404', async () => {
      const board = await boardOf(tokens.alice, { title: 'Roster' });
      const path = `/api/boards/${board.id}/members`;
      expect(
        (await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.bob } })).body,
      ).toMatchObject({
        role: 'viewer',
      });
      expectErrorBody(
        await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.bob } }),
        409,
      );
      expectErrorBody(
        await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.alice } }),
        400,
      );
      const changed = await api({
        method: 'PATCH',
        path: `${path}/${ids.bob}`,
        token: tokens.alice,
        body: { role: 'admin' },
      });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ user_id: ids.bob, role: 'admin' });
      expectErrorBody(
        await api({
          method: 'PATCH',
          path: `${path}/${ids.bob}`,
          token: tokens.alice,
          body: { role: 'owner' },
        }),
        400,
      );
      expectErrorBody(
        await api({
          method: 'PATCH',
          path: `${path}/${ids.carol}`,
          token: tokens.alice,
          body: { role: 'viewer' },
        }),
        404,
      );
      expect(
        (await api({ method: 'DELETE', path: `${path}/${ids.bob}`, token: tokens.alice })).status,
      ).toBe(204);
      expectErrorBody(
        await api({ method: 'DELETE', path: `${path}/${ids.bob}`, token: tokens.alice }),
        404,
      );
      expect(await listAll(tokens.alice, path)).toEqual([]);
    });
  });

  describe('generations', () => {
    let boardId: string;

    beforeAll(async () => {
      boardId = (await boardOf(tokens.alice, { title: 'Generations' })).id;
    });

    const createGeneration = (body: Record<string, unknown>, token = tokens.alice) =>
      api<Generation>({ method: 'POST', path: `/api/boards/${boardId}/generations`, token, body });

    /** Sets a generation's status directly (workers do this in production; no API changes it). */
    const setStatus = (id: string, status: string) =>
      inTenant(db.runtime, tenantId, (runner) =>
        runner.query('UPDATE generations SET status = $2 WHERE id = $1', [id, status]),
      );

    it('create is 201 with status pending; get returns it', async () => {
      const created = await createGeneration({
        generator_name: 'flux-pro',
        artifact_type: 'image',
        input_params: { prompt: 'a red fox', steps: 30 },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.stringMatching(UUID),
        board_id: boardId,
        user_id: ids.alice,
        generator_name: 'flux-pro',
        artifact_type: 'image',
        input_params: { prompt: 'a red fox', steps: 30 },
        status: 'pending',
        storage_url: null,
        progress: 0,
      });
      const fetched = await api({
        method: 'GET',
        path: `/api/generations/${created.body.id}`,
        token: tokens.alice,
      });
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(created.body);
    });

    it.each([
      [{ generator_name: 'x', artifact_type: 'hologram' }],
      [{ generator_name: '', artifact_type: 'image' }],
      [{ generator_name: 'bad name!', artifact_type: 'image' }],
      [{ artifact_type: 'image' }],
      [{ generator_name: 'x', artifact_type: 'image', input_params: 'text' }],
      [{ generator_name: 'x', artifact_type: 'image', status: 'completed' }],
      [{ generator_name: 'x', artifact_type: 'image', user_id: randomUUID() }],
    ])('create with %j is 400', async (body) => {
      expectErrorBody(await createGeneration(body), 400);
    });

    it('list filters by status and artifact type and pages by cursor', async () => {
      const board = await boardOf(tokens.alice, { title: 'Filters' });
      const path = `/api/boards/${board.id}/generations`;
      const made: Generation[] = [];
      for (const artifact_type of ['image', 'video', 'image', 'audio', 'image']) {
        const response = await api<Generation>({
          method: 'POST',
          path,
          token: tokens.alice,
          body: { generator_name: 'gen', artifact_type },
        });
        made.push(response.body);
      }
      await setStatus(made[0].id, 'completed');
      await setStatus(made[1].id, 'processing');

      const ids_ = async (query: string) =>
        (await listAll<Generation>(tokens.alice, `${path}?${query}`)).map((g) => g.id);
      expect(new Set(await ids_(''))).toEqual(new Set(made.map((g) => g.id)));
      expect(new Set(await ids_('artifact_type=image'))).toEqual(
        new Set([made[0].id, made[2].id, made[4].id]),
      );
      expect(await ids_('status=completed')).toEqual([made[0].id]);
      expect(new Set(await ids_('status=pending'))).toEqual(
        new Set([made[2].id, made[3].id, made[4].id]),
      );
      expect(new Set(await ids_('status=pending&artifact_type=image'))).toEqual(
        new Set([made[2].id, made[4].id]),
      );
      expect(await ids_('artifact_type=model')).toEqual([]);
      expectErrorBody(
        await api({ method: 'GET', path: `${path}?status=done`, token: tokens.alice }),
        400,
      );
      expectErrorBody(
        await api({ method: 'GET', path: `${path}?artifact_type=gif`, token: tokens.alice }),
        400,
      );
      expectErrorBody(
        await api({ method: 'GET', path: `${path}?cursor=zzz`, token: tokens.alice }),
        400,
      );

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: ApiResult<Page<Generation>> = await api<Page<Generation>>({
          method: 'GET',
          path: `${path}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          token: tokens.alice,
        });
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((g) => g.id));
        cursor = page.body.next_cursor;
      } while (cursor !== null && seen.length < 20);
      expect(seen).toEqual(await ids_('limit=100'));
      expect(seen).toHaveLength(5);
    });

    it.each([
      ['pending', 200],
      ['processing', 200],
      ['completed', 409],
      ['failed', 409],
      ['cancelled', 409],
    ])('cancel a %s generation → %i', async (status, expected) => {
      const created = await createGeneration({ generator_name: 'gen', artifact_type: 'text' });
      await setStatus(created.body.id, status);
      const cancelled = await api<Generation>({
        method: 'POST',
        path: `/api/generations/${created.body.id}/cancel`,
        token: tokens.alice,
      });
      if (expected === 200) {
        expect(cancelled.status).toBe(200);
        expect(cancelled.body.status).toBe('cancelled');
        const again = await api({
          method: 'POST',
          path: `/api/generations/${created.body.id}/cancel`,
          token: tokens.alice,
        });
        expectErrorBody(again, 409);
      } else {
        expectErrorBody(cancelled, 409, new RegExp(status));
        const fetched = await api<Generation>({
          method: 'GET',
          path: `/api/generations/${created.body.id}`,
          token: tokens.alice,
        });
        expect(fetched.body.status).toBe(status);
      }
    });

    it('delete is 204; the generation is then 404 and gone from the list', async () => {
      const created = await createGeneration({ generator_name: 'gen', artifact_type: 'lora' });
      const path = `/api/generations/${created.body.id}`;
      const deleted = await api({ method: 'DELETE', path, token: tokens.alice });
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expectErrorBody(await api({ method: 'GET', path, token: tokens.alice }), 404);
      expectErrorBody(
        await api({ method: 'POST', path: `${path}/cancel`, token: tokens.alice }),
        404,
      );
      const listed = await listAll<Generation>(
        tokens.alice,
        `/api/boards/${boardId}/generations?limit=100`,
      );
      expect(listed.map((g) => g.id)).not.toContain(created.body.id);
    });

    it('deleting a board deletes its generations', async () => {
      const board = await boardOf(tokens.alice, { title: 'Cascade' });
      const created = await api<Generation>({
        method: 'POST',
        path: `/api/boards/${board.id}/generations`,
        token: tokens.alice,
        body: { generator_name: 'gen', artifact_type: 'model' },
      });
      expect(
        (await api({ method: 'DELETE', path: `/api/boards/${board.id}`, token: tokens.alice }))
          .status,
      ).toBe(204);
      expectErrorBody(
        await api({
          method: 'GET',
          path: `/api/generations/${created.body.id}`,
          token: tokens.alice,
        }),
        404,
      );
    });
  });

  describe('validation', () => {
    let boardId: string;

    beforeAll(async () => {
      boardId = (await boardOf(tokens.alice, { title: 'Validation' })).id;
    });

    it.each([
      ['tenant_id'],
      ['owner_id'],
      ['id'],
      ['version'],
      ['created_at'],
      ['my_role'],
      ['unknown_field'],
    ])('an unknown field (%s) is 400 on POST and PATCH, and nothing is written', async (field) => {
      const value = field === 'version' ? 99 : randomUUID();
      const created = await createBoard(tokens.alice, { title: `with ${field}`, [field]: value });
      expectErrorBody(created, 400, new RegExp(field));
      const patched = await api({
        method: 'PATCH',
        path: `/api/boards/${boardId}`,
        token: tokens.alice,
        body: { title: 'x', [field]: value },
      });
      expectErrorBody(patched, 400, new RegExp(field));
      const board = await api<Board>({
        method: 'GET',
        path: `/api/boards/${boardId}`,
        token: tokens.alice,
      });
      expect(board.body).toMatchObject({ title: 'Validation', owner_id: ids.alice, version: 1 });
      expect(
        await listAll(tokens.alice, `/api/boards?q=${encodeURIComponent(`with ${field}`)}`),
      ).toEqual([]);
    });

    // Valid bodies, so that only the path parameter is wrong.
    const member = { user_id: randomUUID(), role: 'viewer' };
    const generation = { generator_name: 'gen', artifact_type: 'image' };
    it.each([
      ['GET', '/api/boards/not-a-uuid', 'board_id', undefined],
      ['PATCH', '/api/boards/123', 'board_id', { title: 'x' }],
      ['DELETE', "/api/boards/'%20OR%201=1", 'board_id', undefined],
      ['POST', '/api/boards/x/transfer', 'board_id', { new_owner_id: randomUUID() }],
      ['GET', '/api/boards/x/members', 'board_id', undefined],
      ['POST', '/api/boards/x/members', 'board_id', member],
      ['PATCH', '/api/boards/{board}/members/x', 'user_id', { role: 'editor' }],
      ['DELETE', '/api/boards/{board}/members/x', 'user_id', undefined],
      ['GET', '/api/boards/x/generations', 'board_id', undefined],
      ['POST', '/api/boards/x/generations', 'board_id', generation],
      ['GET', '/api/generations/x', 'generation_id', undefined],
      [
        'DELETE',
        '/api/generations/00000000-0000-0000-0000-00000000000g',
        'generation_id',
        undefined,
      ],
      ['POST', '/api/generations/x/cancel', 'generation_id', undefined],
    ])(
      '%s %s: a malformed UUID path parameter is 400 with the documented body',
      async (method, template, name, body) => {
        const response = await api({
          method,
          path: template.replace('{board}', boardId),
          token: tokens.alice,
          body,
        });
        expectErrorBody(response, 400, `Path parameter ${name} must be a UUID.`);
        expect(response.body).toMatchObject({ error: 'Bad Request' });
      },
    );

    it('title: 1–255 characters', async () => {
      expect((await createBoard(tokens.alice, { title: 't'.repeat(255) })).status).toBe(201);
      expectErrorBody(await createBoard(tokens.alice, { title: 't'.repeat(256) }), 400, /title/);
      expectErrorBody(await createBoard(tokens.alice, { title: '' }), 400, /title/);
      expectErrorBody(await createBoard(tokens.alice, {}), 400, /title/);
      expectErrorBody(await createBoard(tokens.alice, { title: 42 }), 400, /title/);
      const patched = await api({
        method: 'PATCH',
        path: `/api/boards/${boardId}`,
        token: tokens.alice,
        body: { title: 't'.repeat(256) },
      });
      expectErrorBody(patched, 400, /title/);
    });

    it('settings: an object of at most 64 KB as JSON', async () => {
      const padding = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });
      expect(JSON.stringify(padding(65_536)).length).toBe(65_536);
      expect(
        (await createBoard(tokens.alice, { title: 'fits', settings: padding(65_536) })).status,
      ).toBe(201);
      expectErrorBody(
        await createBoard(tokens.alice, { title: 'too big', settings: padding(65_537) }),
        400,
        /settings/,
      );
      expectErrorBody(
        await createBoard(tokens.alice, { title: 'array', settings: [1, 2] }),
        400,
        /settings/,
      );
      const patched = await api({
        method: 'PATCH',
        path: `/api/boards/${boardId}`,
        token: tokens.alice,
        body: { settings: padding(65_537) },
      });
      expectErrorBody(patched, 400, /settings/);
    });

    it('a body over BOARDS_API_BODY_LIMIT_BYTES is 413 with the documented body', async () => {
      const body = { title: 'huge', description: 'd'.repeat(BODY_LIMIT) };
      for (const response of [
        await createBoard(tokens.alice, body),
        await api({ method: 'PATCH', path: `/api/boards/${boardId}`, token: tokens.alice, body }),
      ]) {
        expectErrorBody(response, 413);
        expect(response.body).toMatchObject({ error: 'Payload Too Large' });
      }
      const board = await api<Board>({
        method: 'GET',
        path: `/api/boards/${boardId}`,
        token: tokens.alice,
      });
      expect(board.body.description).toBeNull();
    });

    it('invalid JSON is 400 with the documented body', async () => {
      for (const [method, path, rawBody] of [
        ['POST', '/api/boards', '{"title": "x",'],
        ['PATCH', `/api/boards/${boardId}`, 'nope'],
      ]) {
        const response = await api({ method, path, token: tokens.alice, rawBody });
        expectErrorBody(response, 400);
        expect(response.body).toMatchObject({ error: 'Bad Request' });
      }
    });

    // The filter's own sentences (src/core/errors/http-exception.filter.ts), not the parser's text.
    it("413 and invalid-JSON bodies carry the filter's sentences, not Fastify's messages", async () => {
      const tooLarge = await createBoard(tokens.alice, { title: 'd'.repeat(BODY_LIMIT) });
      expectErrorBody(tooLarge, 413, 'The request body is larger than the server accepts.');
      const invalid = await api({
        method: 'POST',
        path: '/api/boards',
        token: tokens.alice,
        rawBody: '{',
      });
      expectErrorBody(invalid, 400, 'The request body is not valid JSON.');
    });
  });

  describe('Idempotency-Key', () => {
    it('the same key and body replay the first response and create one board', async () => {
      const m = uniqueMarker('idem');
      const key = `key-${m}`;
      const body = { title: `${m} once`, settings: { n: 1 } };
      const first = await createBoard(tokens.alice, body, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await createBoard(tokens.alice, body, { 'idempotency-key': key });
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body).toEqual(first.body);
      expect(second.headers.get('location')).toBe(first.headers.get('location'));
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toHaveLength(1);

      const different = await createBoard(
        tokens.alice,
        { ...body, title: `${m} other` },
        { 'idempotency-key': key },
      );
      expectErrorBody(different, 422);
      expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toHaveLength(1);
    });

    it('keys are scoped to the user: the same key from another user creates a separate board', async () => {
      const m = uniqueMarker('idem-user');
      const key = `key-${m}`;
      const body = { title: `${m} shared key`, is_public: true };
      const alices = await createBoard(tokens.alice, body, { 'idempotency-key': key });
      const bobs = await createBoard(tokens.bob, body, { 'idempotency-key': key });
      expect([alices.status, bobs.status]).toEqual([201, 201]);
      expect(bobs.headers.get('idempotent-replayed')).toBeNull();
      expect(bobs.body.id).not.toBe(alices.body.id);
      expect(bobs.body.owner_id).toBe(ids.bob);
      expect(await listAll(tokens.carol, `/api/boards?q=${m}`)).toHaveLength(2);
    });

    it.each([
      ['300 characters', 'k'.repeat(300)],
      ['a space', 'has space'],
      ['non-ASCII', 'clé'],
    ])('an invalid key (%s) is 400 and creates nothing', async (_, key) => {
      const m = uniqueMarker('badkey');
      const response = await createBoard(tokens.alice, { title: m }, { 'idempotency-key': key });
      expectErrorBody(response, 400, /Idempotency-Key/);
      expect(await listAll(tokens.alice, `/api/boards?q=${m}`)).toEqual([]);
    });

    it('works on the other POST routes too (generation create replays the same generation)', async () => {
      const board = await boardOf(tokens.alice, { title: 'Idempotent generations' });
      const call = () =>
        api<Generation>({
          method: 'POST',
          path: `/api/boards/${board.id}/generations`,
          token: tokens.alice,
          headers: { 'idempotency-key': `gen-${board.id}` },
          body: { generator_name: 'gen', artifact_type: 'image' },
        });
      const first = await call();
      const second = await call();
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body.id).toBe(first.body.id);
      expect(await listAll(tokens.alice, `/api/boards/${board.id}/generations`)).toHaveLength(1);
    });
  });

  describe('audit events (BOARDS_ENABLE_AUDIT_LOGGING=true)', () => {
    const eventsFor = async (targetId: string): Promise<AuditEvent[]> => {
      const events = await listAll<AuditEvent>(tokens.admin, '/api/audit-events?limit=100');
      return events.filter((event) => event.target_id === targetId);
    };

    it('each board mutation writes exactly one event, readable by a tenant admin', async () => {
      const created = await createBoard(tokens.alice, { title: 'Audited' });
      const boardId = created.body.id;
      const path = `/api/boards/${boardId}`;
      const actions = async () => (await eventsFor(boardId)).map((e) => e.action).sort();

      expect(await actions()).toEqual(['board.create']);
      const [event] = await eventsFor(boardId);
      expect(event).toMatchObject({
        actor_id: ids.alice,
        target_type: 'board',
        target_id: boardId,
      });

      expect(
        (await api({ method: 'PATCH', path, token: tokens.alice, body: { title: 'Audited 2' } }))
          .status,
      ).toBe(200);
      expect(await actions()).toEqual(['board.create', 'board.update']);

      // A refused write and a write that changes nothing record nothing.
      expect(
        (await api({ method: 'PATCH', path, token: tokens.bob, body: { title: 'x' } })).status,
      ).toBe(404);
      expect((await api({ method: 'DELETE', path, token: tokens.carol })).status).toBe(404);
      expect((await api({ method: 'PATCH', path, token: tokens.alice, body: {} })).status).toBe(
        200,
      );
      expect(await actions()).toEqual(['board.create', 'board.update']);

      expect((await api({ method: 'DELETE', path, token: tokens.alice })).status).toBe(204);
      expect(await actions()).toEqual(['board.create', 'board.delete', 'board.update']);
    });

    it('an ownership transfer writes exactly one event', async () => {
      const board = await boardOf(tokens.alice, { title: 'Audited transfer' });
      const transferred = await api({
        method: 'POST',
        path: `/api/boards/${board.id}/transfer`,
        token: tokens.alice,
        body: { new_owner_id: ids.bob },
      });
      expect(transferred.status).toBe(200);
      const events = (await eventsFor(board.id)).filter((e) => e.action !== 'board.create');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actor_id: ids.alice,
        target_type: 'board',
        action: expect.stringMatching(/^board\./),
      });
    });

    it('each generation mutation writes exactly one event', async () => {
      const board = await boardOf(tokens.alice, { title: 'Audited generations' });
      const generation = await api<Generation>({
        method: 'POST',
        path: `/api/boards/${board.id}/generations`,
        token: tokens.alice,
        body: { generator_name: 'gen', artifact_type: 'image' },
      });
      const id = generation.body.id;
      const actions = async () => (await eventsFor(id)).map((e) => e.action).sort();
      expect(await actions()).toEqual(['generation.create']);
      expect(
        (await api({ method: 'POST', path: `/api/generations/${id}/cancel`, token: tokens.alice }))
          .status,
      ).toBe(200);
      expect(
        (await api({ method: 'POST', path: `/api/generations/${id}/cancel`, token: tokens.alice }))
          .status,
      ).toBe(409);
      expect(await actions()).toEqual(['generation.cancel', 'generation.create']);
      expect(
        (await api({ method: 'DELETE', path: `/api/generations/${id}`, token: tokens.alice }))
          .status,
      ).toBe(204);
      expect(await actions()).toEqual([
        'generation.cancel',
        'generation.create',
        'generation.delete',
      ]);
    });

    it('a replayed POST writes no second event', async () => {
      const key = `audit-replay-${randomUUID()}`;
      const first = await createBoard(
        tokens.alice,
        { title: 'Replayed' },
        { 'idempotency-key': key },
      );
      const second = await createBoard(
        tokens.alice,
        { title: 'Replayed' },
        { 'idempotency-key': key },
      );
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect((await eventsFor(first.body.id)).map((e) => e.action)).toEqual(['board.create']);
    });

    it('members of the tenant get 403', async () => {
      expectErrorBody(
        await api({ method: 'GET', path: '/api/audit-events', token: tokens.alice }),
        403,
      );
    });

    it('with auditing off the route is 404 and mutations record nothing', async () => {
      const quiet = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
      try {
        const quietApi = apiClient(quiet.baseUrl);
        expectErrorBody(
          await quietApi({ method: 'GET', path: '/api/audit-events', token: tokens.admin }),
          404,
        );
        const created = await quietApi<Board>({
          method: 'POST',
          path: '/api/boards',
          token: tokens.alice,
          body: { title: 'Unaudited' },
        });
        expect(created.status).toBe(201);
        expect(await eventsFor(created.body.id)).toEqual([]);
      } finally {
        await quiet.close();
      }
    });
  });
});
