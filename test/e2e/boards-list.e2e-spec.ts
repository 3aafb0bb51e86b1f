import type { ApiErrorCode } from 'src/core/errors/error-catalog';
import { uniqueMarker } from 'test/factories/seed';
import { type ApiResult } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  type Board,
  expectErrorBody,
  type Page,
} from 'test/support/boards-api-suite';

/**
 * GET /api/boards (DESIGN.md §3–4): the role filter, search in title and description (% and _
 * taken literally), the four sort orders and cursor pagination with its limits.
 */

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describeWithPostgres('boards API: listing', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, boardOf, listAll } = suite;

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
      'validation_failed',
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
      (await listAll<Board>(tokens.alice, `/api/boards?q=${m}${sort ? `&sort=${sort}` : ''}`)).map(
        (b) => made.findIndex((x) => x.id === b.id),
      );
    expect(await order('created_asc')).toEqual([0, 1, 2, 3]);
    expect(await order('created_desc')).toEqual([3, 2, 1, 0]);
    expect(await order('updated_desc')).toEqual([1, 3, 2, 0]);
    expect(await order('updated_asc')).toEqual([0, 2, 3, 1]);
    expect(await order()).toEqual([1, 3, 2, 0]);
    expectErrorBody(
      await api({ method: 'GET', path: '/api/boards?sort=title', token: tokens.alice }),
      400,
      'validation_failed',
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

  it.each<[string, ApiErrorCode]>([
    ['limit=0', 'validation_failed'],
    ['limit=101', 'validation_failed'],
    ['limit=abc', 'validation_failed'],
    ['limit=2.5', 'validation_failed'],
    ['cursor=not-a-cursor', 'invalid_cursor'],
    [`cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, 'invalid_cursor'],
    [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'invalid_cursor'],
    [`cursor=${'a'.repeat(600)}`, 'validation_failed'],
    ['q=' + 'x'.repeat(201), 'validation_failed'],
  ])('GET /api/boards?%s is 400 %s with the error body', async (query, code) => {
    expectErrorBody(
      await api({ method: 'GET', path: `/api/boards?${query}`, token: tokens.alice }),
      400,
      code,
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
