import { randomUUID } from 'node:crypto';
import { inTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api, type ApiCall } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The board permission table of DESIGN.md §4 (src/modules/boards/board-permissions.ts) through
 * HTTP: every board, member and generation operation × (anonymous, non-member, viewer, editor,
 * admin, owner). Each case runs against a fresh board seeded in one tenant transaction, so a
 * write in one case never changes the state another case sees.
 *
 * The table is the contract: owner and board admin update the board and manage members; only the
 * owner deletes it, changes its visibility or transfers it; editors add viewers and editors (not
 * admins) and create generations; viewers read; editors and admins cancel/delete their own
 * generations, the owner any; members may leave. No token is 401; a private board is 404 to a
 * non-member (indistinguishable from a missing one); a public board is readable by anyone in the
 * tenant but writable only by its owner and members with the role for it.
 */

const ROLES = ['anonymous', 'nonMember', 'viewer', 'editor', 'admin', 'owner'] as const;
type Role = (typeof ROLES)[number];
type Expected = Record<Role, number>;

/** The seeded world of one case: a board with one member per role and two generations. */
interface Fixture {
  readonly boardId: string;
  readonly isPublic: boolean;
  /** A generation created by the acting user (seeded even where the role could not create one). */
  readonly ownGenerationId: string;
  /** A generation created by another member (`target`). */
  readonly otherGenerationId: string;
}

interface Users {
  readonly owner: string;
  readonly viewer: string;
  readonly editor: string;
  readonly admin: string;
  readonly nonMember: string;
  /** An editor the managing operations act on (change role, remove, transfer to). */
  readonly target: string;
  /** A user of the tenant who is on no board, to be added. */
  readonly newcomer: string;
}

interface Operation {
  readonly name: string;
  readonly request: (fixture: Fixture, users: Users, actor: string | null) => ApiCall;
  readonly private: Expected;
  /** Differences on a public board (only the non-member's answers change). */
  readonly public?: Partial<Expected>;
}

const row = (
  anonymous: number,
  nonMember: number,
  viewer: number,
  editor: number,
  admin: number,
  owner: number,
): Expected => ({ anonymous, nonMember, viewer, editor, admin, owner });

const board = (f: Fixture) => `/api/boards/${f.boardId}`;

const OPERATIONS: Operation[] = [
  {
    name: 'GET board',
    request: (f) => ({ method: 'GET', path: board(f) }),
    private: row(401, 404, 200, 200, 200, 200),
    public: { nonMember: 200 },
  },
  {
    name: 'PATCH board title/description/settings',
    request: (f) => ({
      method: 'PATCH',
      path: board(f),
      body: { title: 'renamed', description: 'changed', settings: { theme: 'dark' } },
    }),
    private: row(401, 404, 403, 403, 200, 200),
    public: { nonMember: 403 },
  },
  {
    name: 'PATCH board visibility (is_public)',
    request: (f) => ({ method: 'PATCH', path: board(f), body: { is_public: !f.isPublic } }),
    private: row(401, 404, 403, 403, 403, 200),
    public: { nonMember: 403 },
  },
  {
    name: 'DELETE board',
    request: (f) => ({ method: 'DELETE', path: board(f) }),
    private: row(401, 404, 403, 403, 403, 204),
    public: { nonMember: 403 },
  },
  {
    name: 'POST transfer ownership',
    request: (f, u) => ({
      method: 'POST',
      path: `${board(f)}/transfer`,
      body: { new_owner_id: u.target },
    }),
    private: row(401, 404, 403, 403, 403, 200),
    public: { nonMember: 403 },
  },
  {
    name: 'GET members',
    request: (f) => ({ method: 'GET', path: `${board(f)}/members` }),
    private: row(401, 404, 200, 200, 200, 200),
    public: { nonMember: 200 },
  },
  {
    name: 'POST member as viewer',
    request: (f, u) => ({
      method: 'POST',
      path: `${board(f)}/members`,
      body: { user_id: u.newcomer, role: 'viewer' },
    }),
    private: row(401, 404, 403, 201, 201, 201),
    public: { nonMember: 403 },
  },
  {
    name: 'POST member as editor',
    request: (f, u) => ({
      method: 'POST',
      path: `${board(f)}/members`,
      body: { user_id: u.newcomer, role: 'editor' },
    }),
    private: row(401, 404, 403, 201, 201, 201),
    public: { nonMember: 403 },
  },
  {
    name: 'POST member as admin',
    request: (f, u) => ({
      method: 'POST',
      path: `${board(f)}/members`,
      body: { user_id: u.newcomer, role: 'admin' },
    }),
    private: row(401, 404, 403, 403, 201, 201),
    public: { nonMember: 403 },
  },
  {
    name: "PATCH another member's role",
    request: (f, u) => ({
      method: 'PATCH',
      path: `${board(f)}/members/${u.target}`,
      body: { role: 'viewer' },
    }),
    private: row(401, 404, 403, 403, 200, 200),
    public: { nonMember: 403 },
  },
  {
    name: 'DELETE another member',
    request: (f, u) => ({ method: 'DELETE', path: `${board(f)}/members/${u.target}` }),
    private: row(401, 404, 403, 403, 204, 204),
    public: { nonMember: 403 },
  },
  {
    // Members may leave. The owner is not a member row (404, "Member not found"); a non-member
    // of a public board has no membership to end either.
    name: 'DELETE own membership (leave)',
    request: (f, _u, actor) => ({
      method: 'DELETE',
      path: `${board(f)}/members/${actor ?? randomUUID()}`,
    }),
    private: row(401, 404, 204, 204, 204, 404),
    public: { nonMember: 404 },
  },
  {
    name: 'GET generations',
    request: (f) => ({ method: 'GET', path: `${board(f)}/generations` }),
    private: row(401, 404, 200, 200, 200, 200),
    public: { nonMember: 200 },
  },
  {
    name: 'POST generation',
    request: (f) => ({
      method: 'POST',
      path: `${board(f)}/generations`,
      body: { generator_name: 'flux-pro', artifact_type: 'image', input_params: { seed: 1 } },
    }),
    private: row(401, 404, 403, 201, 201, 201),
    public: { nonMember: 403 },
  },
  {
    name: 'GET generation',
    request: (f) => ({ method: 'GET', path: `/api/generations/${f.otherGenerationId}` }),
    private: row(401, 404, 200, 200, 200, 200),
    public: { nonMember: 200 },
  },
  {
    name: 'POST cancel own generation',
    request: (f) => ({ method: 'POST', path: `/api/generations/${f.ownGenerationId}/cancel` }),
    private: row(401, 404, 403, 200, 200, 200),
    public: { nonMember: 403 },
  },
  {
    name: "POST cancel another member's generation",
    request: (f) => ({ method: 'POST', path: `/api/generations/${f.otherGenerationId}/cancel` }),
    private: row(401, 404, 403, 403, 403, 200),
    public: { nonMember: 403 },
  },
  {
    name: 'DELETE own generation',
    request: (f) => ({ method: 'DELETE', path: `/api/generations/${f.ownGenerationId}` }),
    private: row(401, 404, 403, 204, 204, 204),
    public: { nonMember: 403 },
  },
  {
    name: "DELETE another member's generation",
    request: (f) => ({ method: 'DELETE', path: `/api/generations/${f.otherGenerationId}` }),
    private: row(401, 404, 403, 403, 403, 204),
    public: { nonMember: 403 },
  },
];

const CASES = (['private', 'public'] as const).flatMap((visibility) =>
  OPERATIONS.flatMap((operation) =>
    ROLES.map((role) => {
      const expected =
        visibility === 'public'
          ? { ...operation.private, ...operation.public }[role]
          : operation.private[role];
      return { visibility, operation, role, expected };
    }),
  ),
);

describeWithPostgres('boards: permission matrix (DESIGN.md §4)', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;
  let tenantId: string;
  let users: Users;
  const tokens = {} as Record<Exclude<Role, 'anonymous'> | 'target' | 'newcomer', string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const slug = uniqueMarker('perm');
    tenantId = (await db.createTenant(slug)).id;
    server = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
    api = apiClient(server.baseUrl);
    // The tenant's first user becomes tenant admin: a bystander, so no board role is confounded
    // with the tenant role.
    await whoAmI(api, hs256Token({ sub: 'tenant-admin', tenant: slug }));
    const provision = async (name: keyof typeof tokens): Promise<string> => {
      tokens[name] = hs256Token({ sub: `perm-${name}`, tenant: slug, name: `perm ${name}` });
      const me = await whoAmI(api, tokens[name]);
      expect(me.tenantRole).toBe('member');
      return me.userId;
    };
    users = {
      owner: await provision('owner'),
      viewer: await provision('viewer'),
      editor: await provision('editor'),
      admin: await provision('admin'),
      nonMember: await provision('nonMember'),
      target: await provision('target'),
      newcomer: await provision('newcomer'),
    };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  /** A fresh board owned by `owner` with viewer, editor, admin and target (editor) members. */
  async function seedBoard(isPublic: boolean, actorId: string | null): Promise<Fixture> {
    return inTenant(await db.tenantData(tenantId, 'runtime'), tenantId, async (runner) => {
      const [{ id: boardId }] = (await runner.query(
        `INSERT INTO boards (owner_id, title, is_public) VALUES ($1, 'matrix board', $2)
         RETURNING id::text AS id`,
        [users.owner, isPublic],
      )) as { id: string }[];
      for (const [userId, role] of [
        [users.viewer, 'viewer'],
        [users.editor, 'editor'],
        [users.admin, 'admin'],
        [users.target, 'editor'],
      ]) {
        await runner.query(
          `INSERT INTO board_members (board_id, user_id, role, invited_by) VALUES ($1, $2, $3, $4)`,
          [boardId, userId, role, users.owner],
        );
      }
      const generation = async (userId: string) => {
        const [{ id }] = (await runner.query(
          `INSERT INTO generations (board_id, user_id, generator_name, artifact_type)
           VALUES ($1, $2, 'matrix-gen', 'image') RETURNING id::text AS id`,
          [boardId, userId],
        )) as { id: string }[];
        return id;
      };
      return {
        boardId,
        isPublic,
        ownGenerationId: await generation(actorId ?? users.nonMember),
        otherGenerationId: await generation(users.target),
      };
    });
  }

  it.each(CASES)(
    '$visibility board: $operation.name as $role → $expected',
    async ({ visibility, operation, role, expected }) => {
      const actorId = role === 'anonymous' ? null : users[role];
      const fixture = await seedBoard(visibility === 'public', actorId);
      const call = operation.request(fixture, users, actorId);
      const response = await api({
        ...call,
        token: role === 'anonymous' ? undefined : tokens[role],
      });
      expect({ status: response.status, body: response.body }).toMatchObject({
        status: expected,
      });
      if (expected >= 400) {
        expect(response.body).toMatchObject({ status: expected, error: expect.any(String) });
      }
      if (expected === 404 && role === 'nonMember' && visibility === 'private') {
        // Indistinguishable from a board or generation that does not exist.
        const missing = operation.request(
          {
            ...fixture,
            boardId: randomUUID(),
            ownGenerationId: randomUUID(),
            otherGenerationId: randomUUID(),
          },
          users,
          actorId,
        );
        const control = await api({ ...missing, token: tokens.nonMember });
        expect(control.status).toBe(404);
        expect({ ...(response.body as object), request_id: null }).toEqual({
          ...(control.body as object),
          request_id: null,
        });
      }
    },
  );

  it('a write that is refused leaves the board as it was', async () => {
    const fixture = await seedBoard(false, users.viewer);
    const before = await api({ method: 'GET', path: board(fixture), token: tokens.owner });
    for (const role of ['viewer', 'editor'] as const) {
      const refused = await api({
        method: 'PATCH',
        path: board(fixture),
        token: tokens[role],
        body: { title: `by ${role}` },
      });
      expect(refused.status).toBe(403);
    }
    const after = await api({ method: 'GET', path: board(fixture), token: tokens.owner });
    expect(after.body).toEqual(before.body);
  });

  it.each([
    ['private', false, row(401, 0, 1, 1, 1, 1)],
    ['public', true, row(401, 1, 1, 1, 1, 1)],
  ] as const)(
    'GET /api/boards lists a %s board to exactly those who may read it',
    async (_, isPublic, visible) => {
      const fixture = await seedBoard(isPublic, null);
      for (const role of ROLES) {
        const response = await api<{ items: { id: string }[] }>({
          method: 'GET',
          path: '/api/boards?limit=100&role=any',
          token: role === 'anonymous' ? undefined : tokens[role],
        });
        if (visible[role] === 401) {
          expect(response.status).toBe(401);
          continue;
        }
        expect(response.status).toBe(200);
        const listed = response.body.items.filter((item) => item.id === fixture.boardId);
        expect({ role, listed: listed.length }).toEqual({ role, listed: visible[role] });
      }
    },
  );
});
