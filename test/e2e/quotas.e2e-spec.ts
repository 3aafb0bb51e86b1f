import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { PLATFORM_ADMIN_SUBJECT, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api, type ApiResult } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { expectError, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Per-tenant quotas through HTTP against a real PostgreSQL server (issue 16, DESIGN.md §5
 * "Fairness"): boards, generations per board, members per board and stored bytes, each at its
 * edge (last allowed, first refused with 403 `quota_exceeded`, room again after a delete); a
 * lowered quota still lets a tenant delete and shrink; concurrent creates at the edge never
 * overshoot; the platform admin's overrides (PUT /api/setup/tenant/{id}) and the configured
 * defaults; one tenant's quota never touches another; GET /api/tenant/usage for tenant admins.
 *
 * The app runs with small, distinctive defaults (BOARDS_QUOTA_*), so a limit seen in a response
 * can only come from the configuration or from an override made here.
 */

const DEFAULTS = {
  boards: 12,
  generations_per_board: 6,
  members_per_board: 4,
  stored_bytes: 200_000,
} as const;
type QuotaName = keyof typeof DEFAULTS;
type Quotas = Partial<Record<QuotaName, number>>;

interface Usage {
  boards: { limit: number; used: number };
  generations_per_board: { limit: number; used: number };
  members_per_board: { limit: number; used: number };
  stored_bytes: { limit: number; used: number };
}
interface Board {
  id: string;
  title: string;
  description: string | null;
  owner_id: string;
}
interface Generation {
  id: string;
  board_id: string;
}
interface TenantBody {
  id: string;
  name: string;
  quotas: Quotas;
}

/** A tenant of this suite and its first user (who becomes the tenant's admin). */
interface Org {
  id: string;
  slug: string;
  admin: string;
}

const PLATFORM_ADMIN = hs256Token({ sub: PLATFORM_ADMIN_SUBJECT, email: 'root@boards.test' });

/** Stored bytes of a board created with only a title and a description ('{}' settings, metadata). */
const boardBytes = (title: string, description: string): number =>
  Buffer.byteLength(title) + Buffer.byteLength(description) + '{}'.length * 2;

describeWithPostgres('quotas per tenant', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 10 });
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_RATE_LIMIT_ENABLED: 'false',
          BOARDS_QUOTA_BOARDS: String(DEFAULTS.boards),
          BOARDS_QUOTA_GENERATIONS_PER_BOARD: String(DEFAULTS.generations_per_board),
          BOARDS_QUOTA_MEMBERS_PER_BOARD: String(DEFAULTS.members_per_board),
          BOARDS_QUOTA_STORED_BYTES: String(DEFAULTS.stored_bytes),
          // The concurrency tests race one tenant's requests on the whole pool; none may be
          // turned away for the tenant's pool share instead of reaching the quota check.
          BOARDS_DATABASE_TENANT_POOL_PERCENT: '100',
          BOARDS_DATABASE_TENANT_QUEUE_MS: '30000',
        }),
      ),
    );
    api = apiClient(server.baseUrl);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  // ---- helpers ----------------------------------------------------------------------------------

  async function newOrg(prefix: string): Promise<Org> {
    const slug = uniqueMarker(prefix);
    const { id } = await createTenant(db.owner, slug);
    const admin = hs256Token({ sub: `${slug}-admin`, tenant: slug });
    const me = await whoAmI(api, admin);
    expect(me.tenantRole).toBe('admin');
    return { id, slug, admin };
  }

  /** A further user of `org` (a tenant member), with its id. */
  async function userOf(org: Org, name: string): Promise<{ token: string; id: string }> {
    const token = hs256Token({ sub: `${org.slug}-${name}`, tenant: org.slug, name });
    const me = await whoAmI(api, token);
    expect(me).toMatchObject({ tenantId: org.id, tenantRole: 'member' });
    return { token, id: me.userId };
  }

  async function setQuotas(org: Org, quotas: Quotas): Promise<void> {
    const reply = await api<TenantBody>({
      method: 'PUT',
      path: `/api/setup/tenant/${org.id}`,
      token: PLATFORM_ADMIN,
      body: { quotas },
    });
    expect({ status: reply.status, quotas: reply.body.quotas }).toEqual({ status: 200, quotas });
  }

  async function usageOf(token: string): Promise<Usage> {
    const reply = await api<Usage>({ method: 'GET', path: '/api/tenant/usage', token });
    expect(reply.status).toBe(200);
    return reply.body;
  }

  const postBoard = (token: string, body: Record<string, unknown>) =>
    api<Board>({ method: 'POST', path: '/api/boards', token, body });

  async function boardOf(token: string, body: Record<string, unknown>): Promise<Board> {
    const reply = await postBoard(token, body);
    expect(reply.status).toBe(201);
    return reply.body;
  }

  const postGeneration = (token: string, boardId: string, input: Record<string, unknown> = {}) =>
    api<Generation>({
      method: 'POST',
      path: `/api/boards/${boardId}/generations`,
      token,
      body: { generator_name: 'flux-pro', artifact_type: 'image', input_params: input },
    });

  const addMember = (token: string, boardId: string, userId: string) =>
    api({
      method: 'POST',
      path: `/api/boards/${boardId}/members`,
      token,
      body: { user_id: userId },
    });

  const remove = (token: string, path: string) => api({ method: 'DELETE', path, token });

  /** The documented 403 of a refused write, naming the quota and its limit. */
  function expectQuotaRefusal(reply: ApiResult, quota: QuotaName, limit: number): void {
    expectError(
      reply,
      403,
      'Forbidden',
      'quota_exceeded',
      new RegExp(`^Quota exceeded: at most ${limit} `),
      {
        quota,
        limit,
      },
    );
  }

  /** One number read as the owner role inside the tenant (RLS is forced for the owner too). */
  const scalarIn = (org: Org, sql: string, params: unknown[] = []): Promise<number> =>
    inTenant(db.owner, org.id, async (runner) => {
      const [row] = (await runner.query(sql, params)) as { n: string | number }[];
      return Number(row.n);
    });
  const boardCount = (org: Org) => scalarIn(org, 'SELECT count(*) AS n FROM boards');
  const generationCount = (org: Org, boardId: string) =>
    scalarIn(org, 'SELECT count(*) AS n FROM generations WHERE board_id = $1', [boardId]);
  const memberCount = (org: Org, boardId: string) =>
    scalarIn(org, 'SELECT count(*) AS n FROM board_members WHERE board_id = $1', [boardId]);
  /** What the tenant stores, summed from the rows themselves. */
  const storedBytes = (org: Org) =>
    scalarIn(
      org,
      `SELECT coalesce((SELECT sum(payload_bytes) FROM boards), 0)
            + coalesce((SELECT sum(payload_bytes) FROM generations), 0) AS n`,
    );

  // ---- boards -----------------------------------------------------------------------------------

  describe('boards', () => {
    it('an override is enforced at its edge: the last board is 201, the next 403 quota_exceeded; a delete makes room for exactly one', async () => {
      const org = await newOrg('q-boards');
      await setQuotas(org, { boards: 3 });
      const boards: Board[] = [];
      for (let i = 1; i <= 3; i++) boards.push(await boardOf(org.admin, { title: `board ${i}` }));

      expectQuotaRefusal(await postBoard(org.admin, { title: 'one too many' }), 'boards', 3);
      expect(await boardCount(org)).toBe(3);
      expect((await usageOf(org.admin)).boards).toEqual({ limit: 3, used: 3 });

      expect((await remove(org.admin, `/api/boards/${boards[0].id}`)).status).toBe(204);
      expect((await usageOf(org.admin)).boards).toEqual({ limit: 3, used: 2 });
      await boardOf(org.admin, { title: 'in the freed place' });
      expectQuotaRefusal(await postBoard(org.admin, { title: 'again too many' }), 'boards', 3);
      expect(await boardCount(org)).toBe(3);
    });

    it('without an override the configured default holds; raising it lets the tenant go on at once', async () => {
      const org = await newOrg('q-default');
      for (let i = 1; i <= DEFAULTS.boards; i++) await boardOf(org.admin, { title: `board ${i}` });
      expectQuotaRefusal(await postBoard(org.admin, { title: 'over' }), 'boards', DEFAULTS.boards);

      await setQuotas(org, { boards: DEFAULTS.boards + 1 });
      await boardOf(org.admin, { title: 'allowed by the override' });
      expectQuotaRefusal(
        await postBoard(org.admin, { title: 'over the override' }),
        'boards',
        DEFAULTS.boards + 1,
      );
      expect(await boardCount(org)).toBe(DEFAULTS.boards + 1);
    });

    it('a quota of 0 refuses the first board', async () => {
      const org = await newOrg('q-zero');
      await setQuotas(org, { boards: 0 });
      expectQuotaRefusal(await postBoard(org.admin, { title: 'none allowed' }), 'boards', 0);
      expect(await boardCount(org)).toBe(0);
    });
  });

  // ---- generations per board ---------------------------------------------------------------------

  describe('generations per board', () => {
    it('counts per board: a full board refuses the next, another board still takes its own; a delete makes room', async () => {
      const org = await newOrg('q-gens');
      await setQuotas(org, { generations_per_board: 2 });
      const full = await boardOf(org.admin, { title: 'full' });
      const other = await boardOf(org.admin, { title: 'other' });

      const made: Generation[] = [];
      for (let i = 0; i < 2; i++) {
        const reply = await postGeneration(org.admin, full.id, { prompt: `p${i}` });
        expect(reply.status).toBe(201);
        made.push(reply.body);
      }
      expectQuotaRefusal(await postGeneration(org.admin, full.id), 'generations_per_board', 2);
      for (let i = 0; i < 2; i++)
        expect((await postGeneration(org.admin, other.id)).status).toBe(201);
      expectQuotaRefusal(await postGeneration(org.admin, other.id), 'generations_per_board', 2);
      expect((await usageOf(org.admin)).generations_per_board).toEqual({ limit: 2, used: 2 });

      expect((await remove(org.admin, `/api/generations/${made[0].id}`)).status).toBe(204);
      expect((await postGeneration(org.admin, full.id)).status).toBe(201);
      expectQuotaRefusal(await postGeneration(org.admin, full.id), 'generations_per_board', 2);
      expect(await generationCount(org, full.id)).toBe(2);
      expect(await generationCount(org, other.id)).toBe(2);
    });
  });

  // ---- members per board ------------------------------------------------------------------------

  describe('members per board', () => {
    it('the last member is 201, the next 403; removing one makes room; a transfer to a member of a full board is allowed', async () => {
      const org = await newOrg('q-members');
      await setQuotas(org, { members_per_board: 2 });
      const [u1, u2, u3] = [
        await userOf(org, 'u1'),
        await userOf(org, 'u2'),
        await userOf(org, 'u3'),
      ];
      const board = await boardOf(org.admin, { title: 'roster' });
      const path = `/api/boards/${board.id}/members`;

      expect((await addMember(org.admin, board.id, u1.id)).status).toBe(201);
      expect((await addMember(org.admin, board.id, u2.id)).status).toBe(201);
      expectQuotaRefusal(await addMember(org.admin, board.id, u3.id), 'members_per_board', 2);
      expect(await memberCount(org, board.id)).toBe(2);
      expect((await usageOf(org.admin)).members_per_board).toEqual({ limit: 2, used: 2 });

      expect((await remove(org.admin, `${path}/${u2.id}`)).status).toBe(204);
      expect((await addMember(org.admin, board.id, u3.id)).status).toBe(201);
      expectQuotaRefusal(await addMember(org.admin, board.id, u2.id), 'members_per_board', 2);

      // u1 leaves the members to become the owner, the previous owner joins them: no growth.
      const transfer = await api<Board>({
        method: 'POST',
        path: `/api/boards/${board.id}/transfer`,
        token: org.admin,
        body: { new_owner_id: u1.id },
      });
      expect({ status: transfer.status, owner: transfer.body.owner_id }).toEqual({
        status: 200,
        owner: u1.id,
      });
      expect(await memberCount(org, board.id)).toBe(2);
      expect((await usageOf(org.admin)).members_per_board).toEqual({ limit: 2, used: 2 });
    });
  });

  // ---- stored bytes -----------------------------------------------------------------------------

  describe('stored bytes', () => {
    it('counts UTF-8 bytes of text and JSON; the first board past the limit is refused', async () => {
      const org = await newOrg('q-bytes');
      await setQuotas(org, { stored_bytes: 30_000 });
      // 3,000 characters, 9,000 bytes: a quota in characters would take a fourth board.
      const description = '€'.repeat(3_000);
      const boards: Board[] = [];
      for (let i = 1; i <= 3; i++)
        boards.push(await boardOf(org.admin, { title: `big ${i}`, description }));
      const each = boardBytes('big 1', description);
      expect(
        await scalarIn(org, 'SELECT payload_bytes AS n FROM boards WHERE id = $1', [boards[0].id]),
      ).toBe(each);
      expect((await usageOf(org.admin)).stored_bytes).toEqual({ limit: 30_000, used: 3 * each });

      expectQuotaRefusal(
        await postBoard(org.admin, { title: 'big 4', description }),
        'stored_bytes',
        30_000,
      );
      expect(await boardCount(org)).toBe(3);
      expect(await storedBytes(org)).toBe(3 * each);
    });

    it('below a lowered quota: creating and growing are refused, shrinking, same-size changes and deleting are not', async () => {
      const org = await newOrg('q-shrink');
      const description = 'x'.repeat(9_000);
      const [b1, b2, b3] = [
        await boardOf(org.admin, { title: 'b1', description }),
        await boardOf(org.admin, { title: 'b2', description }),
        await boardOf(org.admin, { title: 'b3', description }),
      ];
      const used = (await usageOf(org.admin)).stored_bytes.used;
      expect(used).toBe(3 * boardBytes('b1', description));

      const limit = 10_000;
      expect(used).toBeGreaterThan(limit);
      await setQuotas(org, { stored_bytes: limit });
      expectQuotaRefusal(await postBoard(org.admin, { title: 'tiny' }), 'stored_bytes', limit);

      const patch = (id: string, body: Record<string, unknown>) =>
        api<Board>({ method: 'PATCH', path: `/api/boards/${id}`, token: org.admin, body });
      const shrunk = await patch(b1.id, { description: 'short' });
      expect({ status: shrunk.status, description: shrunk.body.description }).toEqual({
        status: 200,
        description: 'short',
      });
      // Still over the limit after shrinking b1, so one more byte on b2 is refused...
      expectQuotaRefusal(
        await patch(b2.id, { description: `${description}y` }),
        'stored_bytes',
        limit,
      );
      // ...while the same number of bytes in other characters is not growth.
      const sameSize = '€'.repeat(3_000);
      expect(Buffer.byteLength(sameSize)).toBe(Buffer.byteLength(description));
      expect((await patch(b2.id, { description: sameSize })).status).toBe(200);
      expect((await remove(org.admin, `/api/boards/${b3.id}`)).status).toBe(204);

      const read = await api<Board>({
        method: 'GET',
        path: `/api/boards/${b2.id}`,
        token: org.admin,
      });
      expect(read.body.description).toBe(sameSize);
      const expected = boardBytes('b1', 'short') + boardBytes('b2', sameSize);
      expect(await storedBytes(org)).toBe(expected);
      expect((await usageOf(org.admin)).stored_bytes).toEqual({ limit, used: expected });
    });

    it('generations count too: one whose input would pass the limit is refused, a small one fits', async () => {
      const org = await newOrg('q-genbytes');
      const board = await boardOf(org.admin, { title: 'inputs' });
      const limit = 5_000;
      await setQuotas(org, { stored_bytes: limit });
      const room = limit - (await usageOf(org.admin)).stored_bytes.used;

      expectQuotaRefusal(
        await postGeneration(org.admin, board.id, { prompt: 'p'.repeat(room) }),
        'stored_bytes',
        limit,
      );
      expect(await generationCount(org, board.id)).toBe(0);
      expect(
        (await postGeneration(org.admin, board.id, { prompt: 'p'.repeat(room - 100) })).status,
      ).toBe(201);
      const used = (await usageOf(org.admin)).stored_bytes.used;
      expect(used).toBe(await storedBytes(org));
      expect(used).toBeLessThanOrEqual(limit);
    });
  });

  // ---- concurrency ------------------------------------------------------------------------------

  describe('concurrent creates at the edge', () => {
    const RACERS = 30;
    const LIMIT = 10;

    function expectExactlyLimit(replies: ApiResult[], quota: QuotaName): void {
      expect(replies.map((r) => r.status).sort()).toEqual([
        ...Array<number>(LIMIT).fill(201),
        ...Array<number>(RACERS - LIMIT).fill(403),
      ]);
      for (const reply of replies.filter((r) => r.status !== 201))
        expectQuotaRefusal(reply, quota, LIMIT);
    }

    it(`${RACERS} concurrent POST /api/boards with a quota of ${LIMIT}: exactly ${LIMIT} boards, the rest 403`, async () => {
      const org = await newOrg('q-race');
      await setQuotas(org, { boards: LIMIT });
      const replies = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => postBoard(org.admin, { title: `racer ${i}` })),
      );
      expectExactlyLimit(replies, 'boards');
      expect(await boardCount(org)).toBe(LIMIT);
      expect((await usageOf(org.admin)).boards).toEqual({ limit: LIMIT, used: LIMIT });
      expect(await storedBytes(org)).toBe((await usageOf(org.admin)).stored_bytes.used);
    });

    it(`${RACERS} concurrent generations on one board with a quota of ${LIMIT}: exactly ${LIMIT}, the rest 403`, async () => {
      const org = await newOrg('q-race-gen');
      await setQuotas(org, { generations_per_board: LIMIT });
      const board = await boardOf(org.admin, { title: 'raced' });
      const replies = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          postGeneration(org.admin, board.id, { prompt: `racer ${i}` }),
        ),
      );
      expectExactlyLimit(replies, 'generations_per_board');
      expect(await generationCount(org, board.id)).toBe(LIMIT);
      expect((await usageOf(org.admin)).generations_per_board).toEqual({
        limit: LIMIT,
        used: LIMIT,
      });
      expect(await storedBytes(org)).toBe((await usageOf(org.admin)).stored_bytes.used);
    });
  });

  // ---- overrides --------------------------------------------------------------------------------

  describe("the platform admin's overrides", () => {
    it('PUT returns the overrides, usage shows them, a PUT without quotas keeps them, a new object replaces them, {} restores the defaults', async () => {
      const org = await newOrg('q-override');
      const limits = async () => {
        const usage = await usageOf(org.admin);
        return Object.fromEntries(
          Object.entries(usage).map(([name, { limit }]) => [name, limit]),
        ) as Record<QuotaName, number>;
      };
      expect(await limits()).toEqual(DEFAULTS);

      const custom = {
        boards: 5,
        generations_per_board: 7,
        members_per_board: 3,
        stored_bytes: 12_345,
      };
      await setQuotas(org, custom);
      expect(await limits()).toEqual(custom);
      const read = await api<TenantBody>({
        method: 'GET',
        path: `/api/setup/tenant/${org.id}`,
        token: PLATFORM_ADMIN,
      });
      expect(read.body.quotas).toEqual(custom);

      const renamed = await api<TenantBody>({
        method: 'PUT',
        path: `/api/setup/tenant/${org.id}`,
        token: PLATFORM_ADMIN,
        body: { name: 'Renamed' },
      });
      expect({ status: renamed.status, quotas: renamed.body.quotas }).toEqual({
        status: 200,
        quotas: custom,
      });

      await setQuotas(org, { boards: 5 });
      expect(await limits()).toEqual({ ...DEFAULTS, boards: 5 });

      await setQuotas(org, {});
      expect(await limits()).toEqual(DEFAULTS);
    });

    it.each([
      ['a negative quota', { quotas: { boards: -1 } }, /^quotas\.boards must not be less than 0$/],
      ['a fraction', { quotas: { stored_bytes: 1.5 } }, /^quotas\.stored_bytes must be an integer/],
      [
        'a string',
        { quotas: { members_per_board: '3' } },
        /quotas\.members_per_board must be an integer number$/,
      ],
      ['null', { quotas: null }, /^quotas /],
      ['an array', { quotas: [1] }, /^quotas\b/],
    ])('PUT with %s is 400 and changes nothing', async (_name, body, detail) => {
      const org = await newOrg('q-invalid');
      await setQuotas(org, { boards: 4 });
      const reply = await api({
        method: 'PUT',
        path: `/api/setup/tenant/${org.id}`,
        token: PLATFORM_ADMIN,
        body,
      });
      expectError(reply, 400, 'Bad Request', 'validation_failed', detail);
      expect((await usageOf(org.admin)).boards.limit).toBe(4);
    });

    it('without BOARDS_QUOTA_* an app applies the documented defaults; an override still wins there', async () => {
      const org = await newOrg('q-documented');
      await setQuotas(org, { members_per_board: 2 });
      const plain = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
      try {
        const reply = await apiClient(plain.baseUrl)<Usage>({
          method: 'GET',
          path: '/api/tenant/usage',
          token: org.admin,
        });
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual({
          boards: { limit: 10_000, used: 0 },
          generations_per_board: { limit: 10_000, used: 0 },
          members_per_board: { limit: 2, used: 0 },
          stored_bytes: { limit: 1024 ** 3, used: 0 },
        });
      } finally {
        await plain.close();
      }
    });

    it("a tenant admin cannot set its own tenant's quotas", async () => {
      const org = await newOrg('q-self');
      const reply = await api({
        method: 'PUT',
        path: `/api/setup/tenant/${org.id}`,
        token: org.admin,
        body: { quotas: { boards: 1_000_000 } },
      });
      expectError(reply, 403, 'Forbidden', 'platform_admin_required');
      expect((await usageOf(org.admin)).boards.limit).toBe(DEFAULTS.boards);
    });
  });

  // ---- isolation --------------------------------------------------------------------------------

  describe('between tenants', () => {
    it("a full tenant does not stop another: B at the defaults creates while A is refused, and neither counts the other's rows", async () => {
      const a = await newOrg('q-full');
      const b = await newOrg('q-free');
      await setQuotas(a, { boards: 1, stored_bytes: 1_000 });
      await boardOf(a.admin, { title: 'the only one' });
      expectQuotaRefusal(await postBoard(a.admin, { title: 'second' }), 'boards', 1);

      // B's boards are larger than A's whole byte quota, and more than A's board quota.
      const description = 'b'.repeat(2_000);
      for (let i = 0; i < 3; i++) await boardOf(b.admin, { title: `b ${i}`, description });
      expectQuotaRefusal(await postBoard(a.admin, { title: 'still second' }), 'boards', 1);

      const usageA = await usageOf(a.admin);
      const usageB = await usageOf(b.admin);
      expect(usageA.boards).toEqual({ limit: 1, used: 1 });
      expect(usageA.stored_bytes).toEqual({ limit: 1_000, used: await storedBytes(a) });
      expect(usageB.boards).toEqual({ limit: DEFAULTS.boards, used: 3 });
      expect(usageB.stored_bytes).toEqual({
        limit: DEFAULTS.stored_bytes,
        used: 3 * boardBytes('b 0', description),
      });
    });
  });

  // ---- usage ------------------------------------------------------------------------------------

  describe('GET /api/tenant/usage', () => {
    it('tenant admins see each quota; per-board quotas report the fullest board; it follows deletes with cascades', async () => {
      const org = await newOrg('q-usage');
      const [m1, m2] = [await userOf(org, 'm1'), await userOf(org, 'm2')];
      const crowded = await boardOf(org.admin, { title: 'crowded', description: 'people' });
      const busy = await boardOf(org.admin, { title: 'busy', description: 'work' });
      for (const user of [m1, m2])
        expect((await addMember(org.admin, crowded.id, user.id)).status).toBe(201);
      expect((await postGeneration(org.admin, crowded.id, { prompt: 'one' })).status).toBe(201);
      for (let i = 0; i < 3; i++)
        expect((await postGeneration(org.admin, busy.id, { prompt: `n${i}` })).status).toBe(201);

      expect(await usageOf(org.admin)).toEqual({
        boards: { limit: DEFAULTS.boards, used: 2 },
        generations_per_board: { limit: DEFAULTS.generations_per_board, used: 3 },
        members_per_board: { limit: DEFAULTS.members_per_board, used: 2 },
        stored_bytes: { limit: DEFAULTS.stored_bytes, used: await storedBytes(org) },
      });

      // Deleting the busy board takes its generations with it (ON DELETE CASCADE).
      expect((await remove(org.admin, `/api/boards/${busy.id}`)).status).toBe(204);
      const after = await usageOf(org.admin);
      expect(after.boards.used).toBe(1);
      expect(after.generations_per_board.used).toBe(1);
      expect(after.members_per_board.used).toBe(2);
      expect(after.stored_bytes.used).toBe(await storedBytes(org));
    });

    it('a member of the tenant is 403; no token is 401', async () => {
      const org = await newOrg('q-member');
      const member = await userOf(org, 'plain');
      expectError(
        await api({ method: 'GET', path: '/api/tenant/usage', token: member.token }),
        403,
        'Forbidden',
        'tenant_admin_required',
        'Only admins of this organization may do this.',
      );
      expectError(
        await api({ method: 'GET', path: '/api/tenant/usage' }),
        401,
        'Unauthorized',
        'missing_token',
      );
    });
  });
});
