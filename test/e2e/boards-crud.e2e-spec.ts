import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { adminUrlOf } from 'test/support/test-database';
import { inTenant } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  type Board,
  exceptRequestId,
  expectErrorBody,
  ISO,
  UUID,
} from 'test/support/boards-api-suite';

/**
 * Boards one by one (DESIGN.md §3–4): create with Location and ETag, read, update with If-Match
 * (412 on a stale tag, `*` always matches), delete, and ownership transfer within the tenant.
 */

describeWithPostgres('boards API: boards', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, createBoard, boardOf } = suite;

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
    expectErrorBody(stale, 412, 'etag_mismatch');
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
    expectErrorBody(
      await api({ method: 'GET', path, token: tokens.alice }),
      404,
      'board_not_found',
    );
    expectErrorBody(
      await api({ method: 'DELETE', path, token: tokens.alice }),
      404,
      'board_not_found',
    );
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
      body: { new_owner_id: suite.strangerId },
    });
    const missing = await api({
      method: 'POST',
      path: `${path}/transfer`,
      token: tokens.alice,
      body: { new_owner_id: randomUUID() },
    });
    expectErrorBody(foreign, 404, 'user_not_found');
    expect(exceptRequestId(foreign)).toEqual(exceptRequestId(missing));
    expect((await api<Board>({ method: 'GET', path, token: tokens.alice })).body).toEqual(board);
  });
});

describeWithPostgres('boards API: where the rows are', () => {
  const suite = boardsApiSuite();

  it('a created board is stored where the tenant layout puts it: its own database, or the shared one', async () => {
    const board = await suite.boardOf(suite.tokens.alice, { title: 'Where am I' });
    const find = async (source: DataSource) =>
      (await inTenant(source, suite.tenantId, (runner) =>
        runner.query('SELECT title FROM boards WHERE id = $1', [board.id]),
      )) as { title: string }[];
    const tenantData = await suite.db.tenantData(suite.tenantId, 'owner');
    expect(await find(tenantData)).toEqual([{ title: 'Where am I' }]);
    if (suite.db.isolation === 'database') {
      // The control database keeps the registry only: no tenant's rows of any kind (counted as
      // the superuser, past row-level security).
      expect(tenantData).not.toBe(suite.db.owner);
      expect(await find(suite.db.owner)).toEqual([]);
      const admin = new Client({ connectionString: adminUrlOf(suite.db) });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ boards: number; users: number }>(
          'SELECT (SELECT count(*) FROM boards)::int AS boards, (SELECT count(*) FROM users)::int AS users',
        );
        expect(rows).toEqual([{ boards: 0, users: 0 }]);
      } finally {
        await admin.end();
      }
    } else {
      expect(tenantData).toBe(suite.db.owner);
    }
  });
});
