import { TOKENS, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { call, expectError, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The platform-admin setup API (DESIGN.md §4) through HTTP: every route's success and error
 * paths with the documented bodies, the status transitions, and that a tenant which is not
 * active cannot be used until a platform admin lets it in. Two apps share one database: one in
 * multi-tenant mode (started first, on an empty registry), one in single-tenant mode (which
 * creates the default tenant when it starts). Route limits are off here; rate-limits.e2e-spec
 * covers them.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface TenantBody {
  id: string;
  name: string;
  slug: string;
  status: string;
  settings: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}
interface PageBody {
  items: TenantBody[];
  total_count: number;
  limit: number;
  offset: number;
}
interface StatusBody {
  setup_needed: boolean;
  has_default_tenant: boolean;
  default_tenant: { id: string; slug: string } | null;
  multi_tenant_mode: boolean;
  auth_provider: string;
  recommendations: string[];
}

describeWithPostgres('setup API (/api/setup/*)', () => {
  let db: TestDatabase;
  let multi: RunningApp;
  let single: RunningApp;
  const admin = TOKENS.platformAdmin;

  const tenantCount = async (): Promise<number> => {
    const [row] = (await db.owner.query('SELECT count(*)::int AS n FROM tenants')) as {
      n: number;
    }[];
    return row.n;
  };
  /** Rows of `table` in one tenant, counted as the owner role with the tenant set (RLS is forced). */
  const countIn = (tenantId: string, table: string): Promise<number> =>
    inTenant(db.owner, tenantId, async (runner) => {
      const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      return row.n;
    });
  const create = (body: Record<string, unknown>, server = multi) =>
    call<TenantBody>(server, 'POST', '/api/setup/tenant', { token: admin, body });
  const setStatus = (id: string, status: string) =>
    db.owner.query('UPDATE tenants SET status = $2 WHERE id = $1', [id, status]);

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' });
    multi = await startApp(db.config({ ...env, BOARDS_MULTI_TENANT_MODE: 'true' }));
  }, 60_000);

  afterAll(async () => {
    await single?.close();
    await multi?.close();
    await db?.drop();
  });

  describe('GET /api/setup/status on an empty registry (multi-tenant mode)', () => {
    it('is public, says setup is needed, and answers the same twice without creating rows', async () => {
      const first = await call<StatusBody>(multi, 'GET', '/api/setup/status');
      const second = await call<StatusBody>(multi, 'GET', '/api/setup/status');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        setup_needed: true,
        has_default_tenant: false,
        default_tenant: null,
        multi_tenant_mode: true,
        auth_provider: 'jwt',
        recommendations: expect.arrayContaining([
          'Create the first tenant: POST /api/setup/tenant.',
          expect.stringContaining('BOARDS_REDIS_URL'),
          expect.stringContaining('BOARDS_ENABLE_AUDIT_LOGGING'),
        ]),
      });
      expect(first.body.recommendations.join(' ')).not.toContain('No platform admin');
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      // No tenant, hence no row in any tenant-owned table (every one references a tenant).
      expect(await tenantCount()).toBe(0);
    });
  });

  describe('with the default tenant (a single-tenant app started on the same database)', () => {
    let defaultTenantId: string;

    beforeAll(async () => {
      single = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
      const [row] = (await db.owner.query(`SELECT id FROM tenants WHERE slug = 'default'`)) as {
        id: string;
      }[];
      defaultTenantId = row.id;
    }, 60_000);

    // ---- status -----------------------------------------------------------------------------

    it('GET /api/setup/status reports the default tenant, side-effect free', async () => {
      const tenantsBefore = await tenantCount();
      const usersBefore = await countIn(defaultTenantId, 'users');
      // With a valid token too: a public route provisions no user.
      const first = await call<StatusBody>(single, 'GET', '/api/setup/status', {
        token: TOKENS.noTenant,
      });
      const second = await call<StatusBody>(single, 'GET', '/api/setup/status');
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        setup_needed: false,
        has_default_tenant: true,
        default_tenant: { id: defaultTenantId, slug: 'default' },
        multi_tenant_mode: false,
        auth_provider: 'jwt',
        recommendations: expect.any(Array),
      });
      expect(first.body.recommendations).not.toContain(
        'Create the first tenant: POST /api/setup/tenant.',
      );
      expect(second.body).toEqual(first.body);
      expect(await tenantCount()).toBe(tenantsBefore);
      expect(await countIn(defaultTenantId, 'users')).toBe(usersBefore);

      const fromMulti = await call<StatusBody>(multi, 'GET', '/api/setup/status');
      expect(fromMulti.body).toMatchObject({
        setup_needed: false,
        has_default_tenant: true,
        default_tenant: { id: defaultTenantId, slug: 'default' },
        multi_tenant_mode: true,
      });
    });

    // ---- POST /api/setup/tenant ---------------------------------------------------------------

    it('POST /api/setup/tenant creates an active tenant: 201 with the tenant body', async () => {
      const slug = uniqueMarker('created');
      const reply = await create({ name: `Created ${slug}`, slug, settings: { theme: 'dark' } });
      expect(reply.status).toBe(201);
      expect(reply.body).toEqual({
        id: expect.stringMatching(UUID),
        name: `Created ${slug}`,
        slug,
        status: 'active',
        settings: { theme: 'dark' },
        allowed_issuers: [],
        claims_admit: true,
        quotas: {},
        created_at: expect.stringMatching(ISO_DATE),
        updated_at: expect.stringMatching(ISO_DATE),
      });
      const [stored] = (await db.owner.query(
        'SELECT name, slug, status, settings FROM tenants WHERE id = $1',
        [reply.body.id],
      )) as Record<string, unknown>[];
      expect(stored).toEqual({
        name: `Created ${slug}`,
        slug,
        status: 'active',
        settings: { theme: 'dark' },
      });
      // Without include_sample_data the tenant is empty.
      expect(await countIn(reply.body.id, 'boards')).toBe(0);
      expect(await countIn(reply.body.id, 'generations')).toBe(0);
    });

    it('generates the slug from the name when absent, and makes it unique with -2', async () => {
      const marker = uniqueMarker('Gen');
      const name = `Ünïcode ${marker} Corp!`;
      const expected = `unicode-${marker.toLowerCase()}-corp`;
      const first = await create({ name });
      const second = await create({ name });
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(first.body.slug).toBe(expected);
      expect(second.body.slug).toBe(`${expected}-2`);
      expect(second.body.id).not.toBe(first.body.id);
    });

    it('include_sample_data creates boards and generations in the new tenant only', async () => {
      const before = await countIn(defaultTenantId, 'boards');
      const reply = await create({ name: uniqueMarker('sample'), include_sample_data: true });
      expect(reply.status).toBe(201);
      const boards = await countIn(reply.body.id, 'boards');
      const generations = await countIn(reply.body.id, 'generations');
      expect(boards).toBeGreaterThan(0);
      expect(generations).toBeGreaterThan(0);
      // Every generation sits on a board of the same tenant (RLS would hide any other).
      const orphans = await inTenant(db.owner, reply.body.id, (runner) =>
        runner.query(
          `SELECT g.id FROM generations g LEFT JOIN boards b ON b.id = g.board_id WHERE b.id IS NULL`,
        ),
      );
      expect(orphans).toEqual([]);
      expect(await countIn(defaultTenantId, 'boards')).toBe(before);
    });

    it('409 Conflict when the slug exists', async () => {
      const slug = uniqueMarker('taken');
      expect((await create({ name: 'First', slug })).status).toBe(201);
      const count = await tenantCount();
      const again = await create({ name: 'Second', slug });
      expectError(
        again,
        409,
        'Conflict',
        'tenant_slug_taken',
        `A tenant with slug "${slug}" already exists.`,
      );
      expect(await tenantCount()).toBe(count);
    });

    it('concurrent creations of one slug: exactly one 201, the others 409', async () => {
      const slug = uniqueMarker('race');
      const replies = await Promise.all(
        Array.from({ length: 4 }, (_, i) => create({ name: `Racer ${i}`, slug })),
      );
      expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
      for (const reply of replies.filter((r) => r.status === 409)) {
        expectError(
          reply,
          409,
          'Conflict',
          'tenant_slug_taken',
          `A tenant with slug "${slug}" already exists.`,
        );
      }
    });

    it.each([
      ['an empty name', { name: '' }],
      ['a name of 256 characters', { name: 'n'.repeat(256) }],
      ['no name', { slug: 'no-name' }],
      ['an upper-case slug', { name: 'x', slug: 'Bad-Slug' }],
      ['a slug with a leading hyphen', { name: 'x', slug: '-lead' }],
      ['a slug with a trailing hyphen', { name: 'x', slug: 'trail-' }],
      ['a slug of 51 characters', { name: 'x', slug: 'a'.repeat(51) }],
      ['a slug with an underscore', { name: 'x', slug: 'under_score' }],
      ['settings that are an array', { name: 'x', settings: ['a'] }],
      ['settings that are a string', { name: 'x', settings: 'dark' }],
      ['include_sample_data that is a string', { name: 'x', include_sample_data: 'yes' }],
      ['a tenant_id field', { name: 'x', tenant_id: UNKNOWN_ID }],
      ['a status field', { name: 'x', status: 'suspended' }],
    ])('400 for %s', async (_, body) => {
      const count = await tenantCount();
      expectError(await create(body), 400, 'Bad Request', 'validation_failed');
      expect(await tenantCount()).toBe(count);
    });

    it('a name of exactly 255 characters and a slug of exactly 50 are accepted', async () => {
      const slug = `${uniqueMarker('edge')}-${'s'.repeat(50)}`.slice(0, 50);
      const reply = await create({ name: 'n'.repeat(255), slug });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({ slug, name: 'n'.repeat(255) });
      // A one-character slug is valid too.
      const one = await create({ name: 'Q', slug: 'q' });
      expect(one.status).toBe(201);
      expect(one.body.slug).toBe('q');
    });

    it('a name that yields no slug, without a slug, is 400', async () => {
      expectError(
        await create({ name: '!!!' }),
        400,
        'Bad Request',
        'slug_required',
        /organization_slug|slug/,
      );
    });

    it('401 without a token, 403 for an authenticated caller who is not a platform admin', async () => {
      const body = { name: 'Nope', slug: uniqueMarker('nope') };
      const anonymous = await call(multi, 'POST', '/api/setup/tenant', { body });
      expectError(anonymous, 401, 'Unauthorized', 'missing_token');
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const member = await call(multi, 'POST', '/api/setup/tenant', {
        token: hs256Token({ sub: uniqueMarker('user'), email: 'u@example.com' }),
        body,
      });
      expectError(
        member,
        403,
        'Forbidden',
        'platform_admin_required',
        'This operation is reserved to platform admins.',
      );
      expect(await db.owner.query('SELECT 1 FROM tenants WHERE slug = $1', [body.slug])).toEqual(
        [],
      );
    });

    // ---- GET /api/setup/tenants ---------------------------------------------------------------

    it('GET /api/setup/tenants pages with total_count, limit and offset', async () => {
      for (let i = 0; i < 3; i++) await create({ name: uniqueMarker('page') });
      const total = await tenantCount();
      expect(total).toBeGreaterThan(5);

      const firstPage = await call<PageBody>(multi, 'GET', '/api/setup/tenants?limit=2', {
        token: admin,
      });
      expect(firstPage.status).toBe(200);
      expect(firstPage.body).toMatchObject({ total_count: total, limit: 2, offset: 0 });
      expect(firstPage.body.items).toHaveLength(2);

      const seen: string[] = [];
      for (let offset = 0; offset < total; offset += 2) {
        const page = await call<PageBody>(
          multi,
          'GET',
          `/api/setup/tenants?limit=2&offset=${offset}`,
          { token: admin },
        );
        expect(page.body).toMatchObject({ total_count: total, limit: 2, offset });
        seen.push(...page.body.items.map((item) => item.id));
      }
      const ids = (await db.owner.query('SELECT id FROM tenants')) as { id: string }[];
      expect([...seen].sort()).toEqual(ids.map((row) => row.id).sort());

      const defaults = await call<PageBody>(multi, 'GET', '/api/setup/tenants', { token: admin });
      expect(defaults.body).toMatchObject({ total_count: total, limit: 20, offset: 0 });
      expect(defaults.body.items).toHaveLength(Math.min(20, total));
      expect(defaults.body.items[0]).toEqual({
        id: expect.stringMatching(UUID),
        name: expect.any(String),
        slug: expect.any(String),
        status: expect.any(String),
        settings: expect.any(Object),
        allowed_issuers: [],
        claims_admit: true,
        quotas: {},
        created_at: expect.stringMatching(ISO_DATE),
        updated_at: expect.stringMatching(ISO_DATE),
      });

      const beyond = await call<PageBody>(multi, 'GET', `/api/setup/tenants?offset=${total}`, {
        token: admin,
      });
      expect(beyond.body).toMatchObject({ items: [], total_count: total, offset: total });
    });

    it('GET /api/setup/tenants filters by status', async () => {
      const suspended = await create({ name: uniqueMarker('filtered') });
      expect(
        (
          await call(multi, 'POST', `/api/setup/tenant/${suspended.body.id}/suspend`, {
            token: admin,
          })
        ).status,
      ).toBe(200);
      const [row] = (await db.owner.query(
        `SELECT count(*)::int AS n FROM tenants WHERE status = 'suspended'`,
      )) as { n: number }[];
      const page = await call<PageBody>(
        multi,
        'GET',
        '/api/setup/tenants?status=suspended&limit=100',
        { token: admin },
      );
      expect(page.status).toBe(200);
      expect(page.body.total_count).toBe(row.n);
      expect(page.body.items.map((item) => item.status)).toEqual(Array(row.n).fill('suspended'));
      expect(page.body.items.map((item) => item.id)).toContain(suspended.body.id);
    });

    it.each([
      ['limit=0'],
      ['limit=101'],
      ['limit=abc'],
      ['offset=-1'],
      ['status=bogus'],
      ['tenant_id=x'],
    ])('GET /api/setup/tenants?%s is 400', async (query) => {
      expectError(
        await call(multi, 'GET', `/api/setup/tenants?${query}`, { token: admin }),
        400,
        'Bad Request',
        'validation_failed',
      );
    });

    it('GET /api/setup/tenants is 401 without a token and 403 for a non-admin', async () => {
      expectError(
        await call(multi, 'GET', '/api/setup/tenants'),
        401,
        'Unauthorized',
        'missing_token',
      );
      expectError(
        await call(multi, 'GET', '/api/setup/tenants', { token: TOKENS.noTenant }),
        403,
        'Forbidden',
        'platform_admin_required',
      );
    });

    // ---- GET|PUT|DELETE /api/setup/tenant/{id} --------------------------------------------------

    it('GET /api/setup/tenant/{id}: 200, 404 for an unknown id, 400 for a malformed one', async () => {
      const created = await create({ name: uniqueMarker('get'), settings: { a: 1 } });
      const found = await call(multi, 'GET', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
      });
      expect(found.status).toBe(200);
      expect(found.body).toEqual(created.body);

      expectError(
        await call(multi, 'GET', `/api/setup/tenant/${UNKNOWN_ID}`, { token: admin }),
        404,
        'Not Found',
        'tenant_not_found',
        'Tenant not found.',
      );
      expectError(
        await call(multi, 'GET', '/api/setup/tenant/not-a-uuid', { token: admin }),
        400,
        'Bad Request',
        'invalid_uuid',
        'Path parameter tenant_id must be a UUID.',
      );
      expectError(
        await call(multi, 'GET', `/api/setup/tenant/${created.body.id}`, {
          token: TOKENS.noTenant,
        }),
        403,
        'Forbidden',
        'platform_admin_required',
      );
    });

    it('PUT /api/setup/tenant/{id} is partial: name alone keeps settings, settings alone keeps name', async () => {
      const slug = uniqueMarker('put');
      const created = await create({ name: 'Before', slug, settings: { keep: true } });
      await new Promise((done) => setTimeout(done, 5));

      const renamed = await call<TenantBody>(multi, 'PUT', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
        body: { name: 'After' },
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({
        id: created.body.id,
        slug,
        name: 'After',
        status: 'active',
        settings: { keep: true },
        created_at: created.body.created_at,
      });
      expect(Date.parse(renamed.body.updated_at)).toBeGreaterThan(
        Date.parse(created.body.updated_at),
      );

      const resettled = await call(multi, 'PUT', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
        body: { settings: { replaced: 1 } },
      });
      expect(resettled.status).toBe(200);
      expect(resettled.body).toMatchObject({ name: 'After', settings: { replaced: 1 } });

      const empty = await call(multi, 'PUT', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
        body: {},
      });
      expect(empty.status).toBe(200);
      expect(empty.body).toMatchObject({ name: 'After', settings: { replaced: 1 }, slug });

      const [stored] = (await db.owner.query(
        'SELECT name, slug, settings FROM tenants WHERE id = $1',
        [created.body.id],
      )) as Record<string, unknown>[];
      expect(stored).toEqual({ name: 'After', slug, settings: { replaced: 1 } });
    });

    it.each([
      ['an empty name', { name: '' }],
      ['a slug (slugs never change)', { slug: 'new-slug' }],
      ['a status (changed through the actions)', { status: 'suspended' }],
      ['settings that are not an object', { settings: 3 }],
    ])('PUT with %s is 400 and changes nothing', async (_, body) => {
      const created = await create({ name: 'Unchanged', slug: uniqueMarker('put-bad') });
      expectError(
        await call(multi, 'PUT', `/api/setup/tenant/${created.body.id}`, { token: admin, body }),
        400,
        'Bad Request',
        'validation_failed',
      );
      const after = await call(multi, 'GET', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
      });
      expect(after.body).toEqual(created.body);
    });

    it('PUT: 404 for an unknown id, 400 for a malformed one, 403 for a non-admin', async () => {
      const body = { name: 'x' };
      expectError(
        await call(multi, 'PUT', `/api/setup/tenant/${UNKNOWN_ID}`, { token: admin, body }),
        404,
        'Not Found',
        'tenant_not_found',
        'Tenant not found.',
      );
      expectError(
        await call(multi, 'PUT', '/api/setup/tenant/123', { token: admin, body }),
        400,
        'Bad Request',
        'invalid_uuid',
        'Path parameter tenant_id must be a UUID.',
      );
      expectError(
        await call(multi, 'PUT', `/api/setup/tenant/${defaultTenantId}`, {
          token: TOKENS.noTenant,
          body,
        }),
        403,
        'Forbidden',
        'platform_admin_required',
      );
    });

    it('DELETE /api/setup/tenant/{id}: 204 with the tenant and its rows gone, then 404', async () => {
      const created = await create({ name: uniqueMarker('delete'), include_sample_data: true });
      expect(await countIn(created.body.id, 'boards')).toBeGreaterThan(0);
      const removed = await call(multi, 'DELETE', `/api/setup/tenant/${created.body.id}`, {
        token: admin,
      });
      expect(removed.status).toBe(204);
      expect(removed.body).toBeUndefined();
      expect(
        await db.owner.query('SELECT 1 FROM tenants WHERE id = $1', [created.body.id]),
      ).toEqual([]);
      for (const table of ['users', 'boards', 'generations', 'audit_events']) {
        expect(await countIn(created.body.id, table)).toBe(0);
      }
      expectError(
        await call(multi, 'GET', `/api/setup/tenant/${created.body.id}`, { token: admin }),
        404,
        'Not Found',
        'tenant_not_found',
        'Tenant not found.',
      );
      expectError(
        await call(multi, 'DELETE', `/api/setup/tenant/${created.body.id}`, { token: admin }),
        404,
        'Not Found',
        'tenant_not_found',
        'Tenant not found.',
      );
      expectError(
        await call(multi, 'DELETE', '/api/setup/tenant/zzz', { token: admin }),
        400,
        'Bad Request',
        'invalid_uuid',
        'Path parameter tenant_id must be a UUID.',
      );
      expectError(
        await call(multi, 'DELETE', `/api/setup/tenant/${UNKNOWN_ID}`, {
          token: TOKENS.noTenant,
        }),
        403,
        'Forbidden',
        'platform_admin_required',
      );
      expectError(
        await call(multi, 'DELETE', `/api/setup/tenant/${UNKNOWN_ID}`),
        401,
        'Unauthorized',
        'missing_token',
      );
    });

    it('a deleted tenant is refused to its users at once', async () => {
      const created = await create({ name: uniqueMarker('gone') });
      const token = hs256Token({ sub: uniqueMarker('gone-user'), tenant: created.body.slug });
      expect((await call(multi, 'GET', '/api/auth/me', { token })).status).toBe(200);
      expect(
        (await call(multi, 'DELETE', `/api/setup/tenant/${created.body.id}`, { token: admin }))
          .status,
      ).toBe(204);
      // The same 403 as for any tenant the caller is not a member of (no probing of slugs).
      expectError(
        await call(multi, 'GET', '/api/auth/me', { token }),
        403,
        'Forbidden',
        'not_a_member',
        `You are not a member of an organization "${created.body.slug}"; ask one of its admins for an invitation.`,
      );
    });

    // ---- transitions ----------------------------------------------------------------------------

    const act = (id: string, action: string, token = admin) =>
      call(multi, 'POST', `/api/setup/tenant/${id}/${action}`, { token });

    it('an active tenant cannot be approved, rejected or activated (409); suspend → activate works', async () => {
      const { body: tenant } = await create({ name: uniqueMarker('active') });
      expectError(
        await act(tenant.id, 'approve'),
        409,
        'Conflict',
        'invalid_tenant_transition',
        'A tenant that is active cannot be approved.',
      );
      expectError(
        await act(tenant.id, 'reject'),
        409,
        'Conflict',
        'invalid_tenant_transition',
        'A tenant that is active cannot be rejected.',
      );
      expectError(
        await act(tenant.id, 'activate'),
        409,
        'Conflict',
        'invalid_tenant_transition',
        'A tenant that is active cannot be activated.',
      );

      const suspended = await act(tenant.id, 'suspend');
      expect(suspended.status).toBe(200);
      expect(suspended.body).toMatchObject({ id: tenant.id, status: 'suspended' });
      expectError(
        await act(tenant.id, 'suspend'),
        409,
        'Conflict',
        'invalid_tenant_transition',
        'A tenant that is suspended cannot be suspended.',
      );
      expectError(await act(tenant.id, 'approve'), 409, 'Conflict', 'invalid_tenant_transition');
      expectError(await act(tenant.id, 'reject'), 409, 'Conflict', 'invalid_tenant_transition');

      const activated = await act(tenant.id, 'activate');
      expect(activated.status).toBe(200);
      expect(activated.body).toMatchObject({ id: tenant.id, status: 'active' });
      const [row] = (await db.owner.query('SELECT status FROM tenants WHERE id = $1', [
        tenant.id,
      ])) as { status: string }[];
      expect(row.status).toBe('active');
    });

    it('a pending_approval tenant is refused to its users (403, no user created) until approved', async () => {
      const { id, slug } = await createTenant(db.owner, uniqueMarker('pending'));
      await setStatus(id, 'pending_approval');
      const token = hs256Token({ sub: uniqueMarker('waiting'), tenant: slug });

      const refused = await call(multi, 'GET', '/api/auth/me', { token });
      expectError(
        refused,
        403,
        'Forbidden',
        'tenant_not_active',
        `Tenant "${slug}" is pending approval.`,
      );
      const boards = await call(multi, 'GET', '/api/boards', { token });
      expect(boards.status).toBe(403);
      expect(await countIn(id, 'users')).toBe(0);

      expectError(await act(id, 'suspend'), 409, 'Conflict', 'invalid_tenant_transition');
      expectError(await act(id, 'activate'), 409, 'Conflict', 'invalid_tenant_transition');
      const approved = await act(id, 'approve');
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ id, slug, status: 'active' });

      const allowed = await call<{ tenant: { slug: string; status: string } }>(
        multi,
        'GET',
        '/api/auth/me',
        { token },
      );
      expect(allowed.status).toBe(200);
      expect(allowed.body.tenant).toMatchObject({ slug, status: 'active' });
      expect((await call(multi, 'GET', '/api/boards', { token })).status).toBe(200);
      expectError(await act(id, 'approve'), 409, 'Conflict', 'invalid_tenant_transition');
    });

    it('reject keeps a pending tenant out; a rejected tenant can be activated, not approved', async () => {
      const { id, slug } = await createTenant(db.owner, uniqueMarker('rejectee'));
      await setStatus(id, 'pending_approval');
      const token = hs256Token({ sub: uniqueMarker('hopeful'), tenant: slug });

      const rejected = await act(id, 'reject');
      expect(rejected.status).toBe(200);
      expect(rejected.body.status).toBe('rejected');
      expectError(
        await call(multi, 'GET', '/api/auth/me', { token }),
        403,
        'Forbidden',
        'tenant_not_active',
        `Tenant "${slug}" is rejected.`,
      );
      expectError(
        await act(id, 'approve'),
        409,
        'Conflict',
        'invalid_tenant_transition',
        'A tenant that is rejected cannot be approved.',
      );
      expectError(await act(id, 'reject'), 409, 'Conflict', 'invalid_tenant_transition');
      expectError(await act(id, 'suspend'), 409, 'Conflict', 'invalid_tenant_transition');

      expect((await act(id, 'activate')).body.status).toBe('active');
      expect((await call(multi, 'GET', '/api/auth/me', { token })).status).toBe(200);
    });

    it('suspend is 403 on the very next request (cache invalidated); activate is 200 again', async () => {
      const { body: tenant } = await create({ name: uniqueMarker('suspendee') });
      const token = hs256Token({ sub: uniqueMarker('worker'), tenant: tenant.slug });
      // Warm the tenant cache first.
      for (let i = 0; i < 3; i++) {
        expect((await call(multi, 'GET', '/api/auth/me', { token })).status).toBe(200);
      }
      expect((await act(tenant.id, 'suspend')).status).toBe(200);
      expectError(
        await call(multi, 'GET', '/api/auth/me', { token }),
        403,
        'Forbidden',
        'tenant_not_active',
        `Tenant "${tenant.slug}" is suspended.`,
      );
      expect((await call(multi, 'GET', '/api/boards', { token })).status).toBe(403);
      expect((await act(tenant.id, 'activate')).status).toBe(200);
      expect((await call(multi, 'GET', '/api/auth/me', { token })).status).toBe(200);
    });

    it.each(['approve', 'reject', 'suspend', 'activate'])(
      'POST …/%s: 404 unknown, 400 malformed, 403 non-admin, 401 anonymous',
      async (action) => {
        expectError(
          await act(UNKNOWN_ID, action),
          404,
          'Not Found',
          'tenant_not_found',
          'Tenant not found.',
        );
        expectError(
          await act('not-a-uuid', action),
          400,
          'Bad Request',
          'invalid_uuid',
          'Path parameter tenant_id must be a UUID.',
        );
        expectError(
          await act(defaultTenantId, action, TOKENS.noTenant),
          403,
          'Forbidden',
          'platform_admin_required',
        );
        expectError(
          await call(multi, 'POST', `/api/setup/tenant/${defaultTenantId}/${action}`),
          401,
          'Unauthorized',
          'missing_token',
        );
      },
    );

    // ---- the default tenant (last: the multi-tenant app deletes it) -----------------------------

    it('DELETE refuses the default tenant in single-tenant mode (400) and deletes it in multi-tenant mode', async () => {
      const refused = await call(single, 'DELETE', `/api/setup/tenant/${defaultTenantId}`, {
        token: admin,
      });
      expectError(
        refused,
        400,
        'Bad Request',
        'default_tenant_protected',
        'The default tenant cannot be deleted in single-tenant mode; switch to multi-tenant mode first.',
      );
      expect(
        await db.owner.query('SELECT 1 FROM tenants WHERE id = $1', [defaultTenantId]),
      ).toHaveLength(1);

      const removed = await call(multi, 'DELETE', `/api/setup/tenant/${defaultTenantId}`, {
        token: admin,
      });
      expect(removed.status).toBe(204);
      expect(
        await db.owner.query('SELECT 1 FROM tenants WHERE id = $1', [defaultTenantId]),
      ).toEqual([]);
      const status = await call<StatusBody>(multi, 'GET', '/api/setup/status');
      expect(status.body).toMatchObject({ has_default_tenant: false, default_tenant: null });
    });
  });
});
