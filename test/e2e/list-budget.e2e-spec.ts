import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { expectError, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * What one tenant's reads of the board lists may cost (issue 16, DESIGN.md §5 "Fairness"),
 * through HTTP against a real PostgreSQL server:
 *
 * - search `GET /api/boards?q=`: trimmed, blank means no search, shorter than 3 characters is
 *   400; case-insensitive in title and description, with `%` and `_` matched literally;
 * - the byte budget of a list page (BOARDS_LIST_PAGE_MAX_BYTES, here 20,000): GET /api/boards
 *   and GET /api/boards/{id}/generations stop adding items once their stored bytes
 *   (payload_bytes) would pass it, always carry at least one, and go on from there with
 *   next_cursor, so walking the pages still returns every item once.
 */

const BUDGET = 20_000;

interface Board {
  id: string;
  title: string;
}
interface Item {
  id: string;
}
interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

describeWithPostgres('board lists: search and the byte budget per page', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_RATE_LIMIT_ENABLED: 'false',
          BOARDS_LIST_PAGE_MAX_BYTES: String(BUDGET),
        }),
      ),
    );
    api = apiClient(server.baseUrl);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  /** A fresh tenant and the token of its first user. */
  async function newOrg(prefix: string): Promise<{ id: string; token: string }> {
    const slug = uniqueMarker(prefix);
    const { id } = await createTenant(db.owner, slug);
    const token = hs256Token({ sub: `${slug}-owner`, tenant: slug });
    await whoAmI(api, token);
    return { id, token };
  }

  async function boardOf(token: string, body: Record<string, unknown>): Promise<Board> {
    const reply = await api<Board>({ method: 'POST', path: '/api/boards', token, body });
    expect(reply.status).toBe(201);
    return reply.body;
  }

  // ---- search -----------------------------------------------------------------------------------

  describe('search', () => {
    let token: string;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      ({ token } = await newOrg('search'));
      const boards: [string, string, string | null][] = [
        ['report', 'Quarterly Report', null],
        ['notes', 'Misc notes', 'contains the QUARTERLY numbers'],
        ['fifty', 'Discount 50% off', null],
        ['fiveHundred', 'Discount 500 items', null],
        ['underscore', 'code a_c', null],
        ['letters', 'code abc', null],
        ['unrelated', 'Unrelated', 'nothing to see'],
        ['partial', 'quart only', 'quarter'],
      ];
      for (const [key, title, description] of boards)
        ids[key] = (await boardOf(token, { title, description })).id;
      // Another tenant's board that every search below would match.
      const other = await newOrg('search-other');
      await boardOf(other.token, { title: 'Quarterly 50% a_c Discount', description: 'quarterly' });
    }, 30_000);

    async function search(q: string | undefined): Promise<string[]> {
      const query = q === undefined ? '' : `&q=${encodeURIComponent(q)}`;
      const reply = await api<Page<Board>>({
        method: 'GET',
        path: `/api/boards?limit=100&sort=created_asc${query}`,
        token,
      });
      expect(reply.status).toBe(200);
      expect(reply.body.next_cursor).toBeNull();
      return reply.body.items.map((board) => board.id);
    }
    const keys = (...names: string[]) => names.map((name) => ids[name]);

    it.each([
      ['quarterly', ['report', 'notes']],
      ['QuArTeRlY', ['report', 'notes']],
      ['  quarterly  ', ['report', 'notes']],
      ['Discount', ['fifty', 'fiveHundred']],
      ['50%', ['fifty']],
      ['a_c', ['underscore']],
      ['nothing', ['unrelated']],
      ['zzz', []],
    ])('q=%j finds title and description matches and nothing else', async (q, expected) => {
      expect(await search(q)).toEqual(keys(...expected));
    });

    it('an empty or blank q is no search: every board of the caller', async () => {
      const all = Object.values(ids);
      expect(await search(undefined)).toEqual(all);
      expect(await search('')).toEqual(all);
      expect(await search('   ')).toEqual(all);
    });

    it.each(['a', 'ab', ' ab ', '%%', '€€'])(
      'q=%j (fewer than 3 characters once trimmed) is 400 with the documented body',
      async (q) => {
        const reply = await api({
          method: 'GET',
          path: `/api/boards?q=${encodeURIComponent(q)}`,
          token,
        });
        expectError(
          reply,
          400,
          'Bad Request',
          'validation_failed',
          'q must be at least 3 characters',
        );
      },
    );
  });

  // ---- byte budget ------------------------------------------------------------------------------

  /** Each page of `path` (which has a query string), following next_cursor to the end. */
  async function walk(token: string, path: string): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const reply: { status: number; body: Page<Item> } = await api<Page<Item>>({
        method: 'GET',
        path: cursor === null ? path : `${path}&cursor=${encodeURIComponent(cursor)}`,
        token,
      });
      expect(reply.status).toBe(200);
      pages.push(reply.body.items.map((item) => item.id));
      cursor = reply.body.next_cursor;
      if (pages.length > 100) throw new Error(`${path}: no end after 100 pages`);
    } while (cursor !== null);
    return pages;
  }

  /** `[id, payload_bytes]` of the rows `sql` selects, read as the owner role inside the tenant. */
  const storedSizes = (tenantId: string, sql: string, params: unknown[] = []) =>
    inTenant(db.owner, tenantId, async (runner) => {
      const rows = (await runner.query(sql, params)) as { id: string; payload_bytes: number }[];
      return rows.map((row): [string, number] => [row.id, row.payload_bytes]);
    });

  /**
   * The budget's rules over a walk of `limit`-item pages: each page has an item; a page of more
   * than one keeps its stored bytes within the budget; a page cut short by the budget could not
   * have taken the next item; all pages together are `expected` (every item once, in order).
   */
  function expectBudgetedPages(
    pages: string[][],
    expected: [string, number][],
    limit: number,
  ): void {
    const size = new Map(expected);
    const bytes = (page: string[]) => page.reduce((sum, id) => sum + (size.get(id) as number), 0);
    for (const [i, page] of pages.entries()) {
      expect(page.length).toBeGreaterThan(0);
      if (page.length > 1) expect(bytes(page)).toBeLessThanOrEqual(BUDGET);
      const next = pages[i + 1];
      if (next !== undefined && page.length < limit) {
        expect(bytes(page) + (size.get(next[0]) as number)).toBeGreaterThan(BUDGET);
      }
    }
    expect(pages.flat()).toEqual(expected.map(([id]) => id));
  }

  describe('byte budget per page', () => {
    it('GET /api/boards?limit=100 ends pages by stored bytes, an oversized board comes alone, and the walk returns every board once', async () => {
      const org = await newOrg('budget');
      // 3 bytes a character: a budget counted in characters would put far more on a page.
      const euros = '€'.repeat(2_300);
      const bodies: Record<string, unknown>[] = [
        { title: 'euros 1', description: euros },
        { title: 'plain 1', description: 'x'.repeat(3_000) },
        { title: 'settings', settings: { blob: 'y'.repeat(6_000) } },
        { title: 'euros 2', description: euros },
        { title: 'metadata', metadata: { note: 'z'.repeat(5_000) } },
        {
          title: 'oversized',
          description: 'o'.repeat(10_000),
          settings: { blob: 'y'.repeat(15_000) },
        },
        { title: 'euros 3', description: euros },
        { title: 'small 1', description: 's'.repeat(500) },
        { title: 'euros 4', description: euros },
        { title: 'plain 2', description: 'x'.repeat(3_000) },
        { title: 'euros 5', description: euros },
        { title: 'small 2' },
      ];
      const made: Board[] = [];
      for (const body of bodies) made.push(await boardOf(org.token, body));
      const oversized = made[bodies.findIndex((body) => body.title === 'oversized')];

      const sizes = await storedSizes(
        org.id,
        'SELECT id, payload_bytes FROM boards ORDER BY updated_at DESC, id DESC',
      );
      const size = new Map(sizes);
      expect(size.get(oversized.id)).toBeGreaterThan(BUDGET);
      // The euro boards are counted in bytes: two fit in the budget, three do not.
      expect(size.get(made[0].id)).toBe(Buffer.byteLength(`euros 1${euros}{}{}`));
      expect(3 * (size.get(made[0].id) as number)).toBeGreaterThan(BUDGET);

      const pages = await walk(org.token, '/api/boards?limit=100');
      expect(pages.length).toBeGreaterThan(1);
      expect(pages[0].length).toBeLessThan(made.length);
      expectBudgetedPages(pages, sizes, 100);
      expect(pages.filter((page) => page.includes(oversized.id))).toEqual([[oversized.id]]);
      // Without the budget, limit=100 would have put all of them on one page.
      expect(sizes.reduce((sum, [, bytes]) => sum + bytes, 0)).toBeGreaterThan(3 * BUDGET);

      // A small limit still ends a page before the budget does.
      const small = await walk(org.token, '/api/boards?limit=1');
      expect(small.map((page) => page.length)).toEqual(made.map(() => 1));
    });

    it('GET /api/boards/{id}/generations?limit=100 does the same with large input_params', async () => {
      const org = await newOrg('budget-gen');
      const board = await boardOf(org.token, { title: 'generations' });
      const inputs: Record<string, unknown>[] = [
        { prompt: '€'.repeat(2_300) },
        { prompt: 'p'.repeat(4_000) },
        { prompt: '€'.repeat(2_300) },
        { prompt: 'q'.repeat(30_000) },
        { prompt: '€'.repeat(2_300) },
        { prompt: 's'.repeat(100) },
        { prompt: '€'.repeat(2_300), seed: 7 },
        {},
      ];
      const made: Item[] = [];
      for (const input_params of inputs) {
        const reply = await api<Item>({
          method: 'POST',
          path: `/api/boards/${board.id}/generations`,
          token: org.token,
          body: { generator_name: 'flux-pro', artifact_type: 'image', input_params },
        });
        expect(reply.status).toBe(201);
        made.push(reply.body);
      }
      const oversized = made[3].id;

      const sizes = await storedSizes(
        org.id,
        'SELECT id, payload_bytes FROM generations WHERE board_id = $1 ORDER BY created_at DESC, id DESC',
        [board.id],
      );
      expect(new Map(sizes).get(oversized)).toBeGreaterThan(BUDGET);

      const pages = await walk(org.token, `/api/boards/${board.id}/generations?limit=100`);
      expect(pages.length).toBeGreaterThan(1);
      expect(pages[0].length).toBeLessThan(made.length);
      expectBudgetedPages(pages, sizes, 100);
      expect(pages.filter((page) => page.includes(oversized))).toEqual([[oversized]]);
    });
  });
});
