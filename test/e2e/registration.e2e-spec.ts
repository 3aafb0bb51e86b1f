import { TOKENS, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { inTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { call, expectError, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Self-service registration (DESIGN.md §2, §4) through HTTP: only in multi-tenant mode, the
 * registrant becomes the new tenant's admin, slugs are generated and unique, and the limits are
 * enforced for real — allowed e-mail domains (the admin e-mail's and the token's), tenants per
 * identity (also under concurrent requests) and approval (nobody uses a pending tenant). Four
 * apps with different settings share one database; route limits are off here
 * (rate-limits.e2e-spec covers register 3/hour).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FRONTEND = 'https://app.boards.test';
const MAX_PER_USER = 2;

interface TenantBody {
  id: string;
  name: string;
  slug: string;
  status: string;
  settings: Record<string, unknown>;
}
interface RegistrationBody {
  tenant: TenantBody;
  requires_approval: boolean;
  dashboard_url: string | null;
  api_access: Record<string, string>;
  message: string;
}
interface MeBody {
  user: { id: string; tenant_role: string; email: string | null };
  tenant: { id: string; slug: string; status: string };
}

/** A registrant: a fresh subject with an e-mail, and the token that names no tenant. */
function registrant(email = `${uniqueMarker('person')}@example.com`, verified: unknown = true) {
  const subject = uniqueMarker('registrant');
  return {
    subject,
    email,
    token: hs256Token({
      sub: subject,
      email,
      ...(verified !== 'absent' && { email_verified: verified }),
      name: `Name ${subject}`,
    }),
  };
}

describeWithPostgres('self-service registration (/api/tenants/*)', () => {
  let db: TestDatabase;
  let closed: RunningApp;
  let open: RunningApp;
  let domains: RunningApp;
  let approval: RunningApp;

  const register = (server: RunningApp, token: string | undefined, body: unknown) =>
    call<RegistrationBody>(server, 'POST', '/api/tenants/register', { token, body });
  const tenantsRegisteredBy = async (subject: string): Promise<number> => {
    const [row] = (await db.owner.query(
      'SELECT count(*)::int AS n FROM tenants WHERE registered_by = $1',
      [`jwt:${subject}`],
    )) as { n: number }[];
    return row.n;
  };
  const countIn = (tenantId: string, table: string): Promise<number> =>
    inTenant(db.owner, tenantId, async (runner) => {
      const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[];
      return row.n;
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    const base = jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' });
    const multi = { ...base, BOARDS_MULTI_TENANT_MODE: 'true' };
    [closed, open, domains, approval] = await Promise.all([
      startApp(db.config(base)),
      startApp(
        db.config({
          ...multi,
          BOARDS_MAX_TENANTS_PER_USER: String(MAX_PER_USER),
          BOARDS_FRONTEND_BASE_URL: `${FRONTEND}/`,
        }),
      ),
      startApp(
        db.config({
          ...multi,
          BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: 'acme-reg.test,ACME.co.uk',
        }),
      ),
      startApp(db.config({ ...multi, BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: 'true' })),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([closed, open, domains, approval].map((app) => app?.close()));
    await db?.drop();
  });

  // ---- GET /api/tenants/registration/status -----------------------------------------------------

  it('GET /api/tenants/registration/status is public and describes each configuration', async () => {
    const status = (server: RunningApp) =>
      call<Record<string, unknown>>(server, 'GET', '/api/tenants/registration/status');
    const replies = await Promise.all([closed, open, domains, approval].map(status));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(replies.map((r) => r.body)).toEqual([
      {
        registration_open: false,
        requires_approval: false,
        allowed_domains: [],
        max_tenants_per_user: 3,
      },
      {
        registration_open: true,
        requires_approval: false,
        allowed_domains: [],
        max_tenants_per_user: MAX_PER_USER,
      },
      {
        registration_open: true,
        requires_approval: false,
        allowed_domains: ['acme-reg.test', 'acme.co.uk'],
        max_tenants_per_user: 3,
      },
      {
        registration_open: true,
        requires_approval: true,
        allowed_domains: [],
        max_tenants_per_user: 3,
      },
    ]);
  });

  // ---- mode and authentication ------------------------------------------------------------------

  it('POST /api/tenants/register is 400 with multi_tenant_mode false in single-tenant mode', async () => {
    const { token } = registrant();
    const name = uniqueMarker('Closed Org');
    const reply = await register(closed, token, {
      organization_name: name,
      admin_email: 'a@example.com',
    });
    expectError(
      reply,
      400,
      'Bad Request',
      'registration_closed',
      'Self-service registration is only available in multi-tenant mode.',
      { multi_tenant_mode: false },
    );
    expect(await db.owner.query('SELECT 1 FROM tenants WHERE name = $1', [name])).toEqual([]);
  });

  it('POST /api/tenants/register needs a token (401)', async () => {
    const reply = await register(open, undefined, {
      organization_name: 'Anonymous',
      admin_email: 'a@example.com',
    });
    expectError(reply, 401, 'Unauthorized', 'missing_token');
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  // ---- success ----------------------------------------------------------------------------------

  it('registers an active tenant; the registrant becomes its admin', async () => {
    const person = registrant();
    const marker = uniqueMarker('org');
    const reply = await register(open, person.token, {
      organization_name: `Org ${marker}`,
      admin_email: 'Owner@Example.com',
      admin_name: 'Olivia Owner',
      use_case: 'Moodboards for campaigns',
      organization_size: 'medium',
      metadata: { source: 'e2e' },
    });
    expect(reply.status).toBe(201);
    const slug = `org-${marker}`;
    expect(reply.body).toEqual({
      tenant: {
        id: expect.stringMatching(UUID),
        name: `Org ${marker}`,
        slug,
        status: 'active',
        settings: {
          registration: {
            admin_email: 'Owner@Example.com',
            use_case: 'Moodboards for campaigns',
            organization_size: 'medium',
            metadata: { source: 'e2e' },
          },
        },
        allowed_issuers: [],
        // The registrant's token named no tenant: the IdP's claim does not admit anybody here.
        claims_admit: false,
        quotas: {},
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
      requires_approval: false,
      dashboard_url: `${FRONTEND}/${slug}`,
      api_access: {
        base_url: '/api',
        tenant_header: 'X-Tenant',
        tenant_slug: slug,
        docs_url: '/api/docs',
      },
      message: expect.any(String),
    });

    const [tenantRow] = (await db.owner.query(
      'SELECT slug, status, registered_by FROM tenants WHERE id = $1',
      [reply.body.tenant.id],
    )) as Record<string, unknown>[];
    expect(tenantRow).toEqual({ slug, status: 'active', registered_by: `jwt:${person.subject}` });

    const users = (await inTenant(db.owner, reply.body.tenant.id, (runner) =>
      runner.query(
        'SELECT id, auth_provider, auth_subject, tenant_role, membership_source, email FROM users',
      ),
    )) as Record<string, unknown>[];
    expect(users).toEqual([
      {
        id: expect.stringMatching(UUID),
        auth_provider: 'jwt',
        auth_subject: person.subject,
        tenant_role: 'admin',
        membership_source: 'registration',
        // The address the token vouches for, not the admin_email of the body.
        email: person.email,
      },
    ]);

    // The same subject, with a token whose tenant claim names the new slug, is that admin user.
    const me = await call<MeBody>(open, 'GET', '/api/auth/me', {
      token: hs256Token({ sub: person.subject, email: person.email, tenant: slug }),
    });
    expect(me.status).toBe(200);
    expect(me.body.tenant).toMatchObject({ id: reply.body.tenant.id, slug, status: 'active' });
    expect(me.body.user).toMatchObject({ id: users[0].id, tenant_role: 'admin' });

    // Another person whose token's claim names the slug is no member: registering a slug does not
    // capture the people an identity provider assigns to it.
    const other = await call<MeBody>(open, 'GET', '/api/auth/me', {
      token: hs256Token({ sub: uniqueMarker('colleague'), tenant: slug }),
    });
    expect(other.status).toBe(403);
  });

  it('a registrant whose own claim names the slug makes the claim admit its other holders (as members)', async () => {
    const slug = uniqueMarker('claimed');
    const subject = uniqueMarker('owner');
    const reply = await register(
      open,
      hs256Token({ sub: subject, email: `${subject}@example.com`, tenant: slug }),
      { organization_name: 'Claimed', organization_slug: slug, admin_email: 'a@example.com' },
    );
    expect(reply.status).toBe(201);
    expect(reply.body.tenant).toMatchObject({ slug, claims_admit: true });
    const other = await call<MeBody>(open, 'GET', '/api/auth/me', {
      token: hs256Token({ sub: uniqueMarker('colleague'), tenant: slug }),
    });
    expect(other.status).toBe(200);
    expect(other.body.user.tenant_role).toBe('member');
  });

  it('generates organization_slug from the name when absent, unique with -2; an explicit taken slug is 409', async () => {
    const marker = uniqueMarker('Same Name');
    const first = await register(open, registrant().token, {
      organization_name: marker,
      admin_email: 'a@example.com',
    });
    const second = await register(open, registrant().token, {
      organization_name: marker,
      admin_email: 'b@example.com',
    });
    const expected = marker.toLowerCase().replace(/ /g, '-');
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.tenant.slug).toBe(expected);
    expect(second.body.tenant.slug).toBe(`${expected}-2`);

    const explicit = uniqueMarker('explicit');
    const taken = registrant();
    expect(
      (
        await register(open, taken.token, {
          organization_name: 'Explicit',
          organization_slug: explicit,
          admin_email: 'c@example.com',
        })
      ).body.tenant.slug,
    ).toBe(explicit);
    const conflict = await register(open, registrant().token, {
      organization_name: 'Explicit again',
      organization_slug: explicit,
      admin_email: 'd@example.com',
    });
    expectError(
      conflict,
      409,
      'Conflict',
      'tenant_slug_taken',
      `A tenant with slug "${explicit}" already exists.`,
    );
  });

  it('include_sample_data creates sample boards owned by the registrant', async () => {
    const person = registrant();
    const reply = await register(open, person.token, {
      organization_name: uniqueMarker('Sampled'),
      admin_email: 'a@example.com',
      include_sample_data: true,
    });
    expect(reply.status).toBe(201);
    const { id, slug } = reply.body.tenant;
    expect(await countIn(id, 'boards')).toBeGreaterThan(0);
    expect(await countIn(id, 'generations')).toBeGreaterThan(0);
    const owners = (await inTenant(db.owner, id, (runner) =>
      runner.query(
        `SELECT DISTINCT u.auth_subject FROM boards b JOIN users u ON u.id = b.owner_id`,
      ),
    )) as { auth_subject: string }[];
    expect(owners).toEqual([{ auth_subject: person.subject }]);

    const boards = await call<{ items: { title: string }[] }>(open, 'GET', '/api/boards', {
      token: hs256Token({ sub: person.subject, tenant: slug }),
    });
    expect(boards.status).toBe(200);
    expect(boards.body.items.length).toBe(await countIn(id, 'boards'));

    const plain = await register(open, registrant().token, {
      organization_name: uniqueMarker('Plain'),
      admin_email: 'a@example.com',
    });
    expect(await countIn(plain.body.tenant.id, 'boards')).toBe(0);
  });

  // ---- validation -------------------------------------------------------------------------------

  it('use_case: 500 characters are accepted, 501 are 400', async () => {
    const ok = await register(open, registrant().token, {
      organization_name: uniqueMarker('Long use'),
      admin_email: 'a@example.com',
      use_case: 'u'.repeat(500),
    });
    expect(ok.status).toBe(201);
    const name = uniqueMarker('Too long use');
    expectError(
      await register(open, registrant().token, {
        organization_name: name,
        admin_email: 'a@example.com',
        use_case: 'u'.repeat(501),
      }),
      400,
      'Bad Request',
      'validation_failed',
      /use_case/,
    );
    expect(await db.owner.query('SELECT 1 FROM tenants WHERE name = $1', [name])).toEqual([]);
  });

  it.each(['small', 'medium', 'large', 'enterprise'])(
    'organization_size %s is accepted',
    async (size) => {
      const reply = await register(open, registrant().token, {
        organization_name: uniqueMarker(`Size ${size}`),
        admin_email: 'a@example.com',
        organization_size: size,
      });
      expect(reply.status).toBe(201);
      expect(reply.body.tenant.settings).toMatchObject({
        registration: { organization_size: size },
      });
    },
  );

  it.each([
    ['organization_size outside the enum', { organization_size: 'huge' }, /organization_size/],
    ['organization_size in capitals', { organization_size: 'SMALL' }, /organization_size/],
    ['an invalid admin_email', { admin_email: 'not-an-email' }, /admin_email/],
    ['no admin_email', { admin_email: undefined }, /admin_email/],
    ['no organization_name', { organization_name: undefined }, /organization_name/],
    [
      'an organization_name of 256 characters',
      { organization_name: 'o'.repeat(256) },
      /organization_name/,
    ],
    ['an invalid organization_slug', { organization_slug: 'Not A Slug' }, /organization_slug/],
    ['metadata that is not an object', { metadata: 'x' }, /metadata/],
    ['an unknown field', { tenant_id: '00000000-0000-4000-8000-000000000000' }, /tenant_id/],
    ['a status field', { status: 'active' }, /status/],
  ])('%s is 400', async (_, change, detail) => {
    const body: Record<string, unknown> = {
      organization_name: uniqueMarker('Invalid'),
      admin_email: 'a@example.com',
      ...change,
    };
    const person = registrant();
    expectError(
      await register(open, person.token, body),
      400,
      'Bad Request',
      'validation_failed',
      detail,
    );
    expect(await tenantsRegisteredBy(person.subject)).toBe(0);
  });

  // ---- allowed domains ----------------------------------------------------------------------------

  it('BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: both the admin e-mail and the token e-mail must match', async () => {
    const inside = registrant(`${uniqueMarker('x')}@acme-reg.test`);
    const outside = registrant(`${uniqueMarker('x')}@gmail.com`);
    const noEmail = { subject: uniqueMarker('mailless'), token: '' };
    noEmail.token = hs256Token({ sub: noEmail.subject });
    const attempt = (token: string, adminEmail: string) =>
      register(domains, token, {
        organization_name: uniqueMarker('Domain Org'),
        admin_email: adminEmail,
      });

    expectError(
      await attempt(inside.token, 'boss@evil.test'),
      403,
      'Forbidden',
      'email_domain_not_allowed',
      'Registration is not open to the e-mail domain "evil.test".',
    );
    expectError(
      await attempt(outside.token, 'boss@acme-reg.test'),
      403,
      'Forbidden',
      'email_domain_not_allowed',
      'Registration is not open to the e-mail domain "gmail.com".',
    );
    expectError(
      await attempt(noEmail.token, 'boss@acme-reg.test'),
      403,
      'Forbidden',
      'email_not_verified',
    );
    // The token's address must be verified: email_verified exactly true, nothing else.
    for (const verified of [false, 'true', 1, 'absent', null]) {
      const unverified = registrant(`${uniqueMarker('x')}@acme-reg.test`, verified);
      expectError(
        await attempt(unverified.token, 'boss@acme-reg.test'),
        403,
        'Forbidden',
        'email_not_verified',
        'Registration with allowed e-mail domains needs a token whose email_verified is true.',
      );
      expect(await tenantsRegisteredBy(unverified.subject)).toBe(0);
    }
    // Look-alikes: a subdomain and a suffix trick are other domains.
    expectError(
      await attempt(inside.token, 'boss@sub.acme-reg.test'),
      403,
      'Forbidden',
      'email_domain_not_allowed',
    );
    expectError(
      await attempt(inside.token, 'boss@acme-reg.test.evil.com'),
      403,
      'Forbidden',
      'email_domain_not_allowed',
    );
    expect(await tenantsRegisteredBy(inside.subject)).toBe(0);
    expect(await tenantsRegisteredBy(outside.subject)).toBe(0);

    const ok = await attempt(inside.token, 'Boss@ACME-REG.test');
    expect(ok.status).toBe(201);
    expect(ok.body.dashboard_url).toBeNull();
    const uk = registrant(`${uniqueMarker('x')}@acme.co.uk`);
    expect((await attempt(uk.token, 'boss@acme.co.uk')).status).toBe(201);
    expect(await tenantsRegisteredBy(inside.subject)).toBe(1);
  });

  // ---- tenants per identity -----------------------------------------------------------------------

  it('BOARDS_MAX_TENANTS_PER_USER counts tenants per identity: the n+1-th is 403', async () => {
    const person = registrant();
    // The identity is provider:subject, whatever tenant a token names.
    const tokens = [
      person.token,
      hs256Token({ sub: person.subject, email: person.email, tenant: 'somewhere' }),
      hs256Token({ sub: person.subject, email: person.email, org: 'elsewhere' }),
    ];
    for (let i = 0; i < MAX_PER_USER; i++) {
      const reply = await register(open, tokens[i], {
        organization_name: uniqueMarker(`Mine ${i}`),
        admin_email: person.email,
      });
      expect(reply.status).toBe(201);
    }
    const over = await register(open, tokens[MAX_PER_USER], {
      organization_name: uniqueMarker('One too many'),
      admin_email: person.email,
    });
    expectError(
      over,
      403,
      'Forbidden',
      'tenant_limit_reached',
      `You have reached the limit of ${MAX_PER_USER} organization(s) per user.`,
    );
    expect(await tenantsRegisteredBy(person.subject)).toBe(MAX_PER_USER);

    // Another identity is not affected.
    expect(
      (
        await register(open, registrant().token, {
          organization_name: uniqueMarker('Someone else'),
          admin_email: 'a@example.com',
        })
      ).status,
    ).toBe(201);
  });

  it('concurrent registrations by one identity cannot exceed the limit', async () => {
    const person = registrant();
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        register(open, person.token, {
          organization_name: uniqueMarker(`Burst ${i}`),
          admin_email: person.email,
        }),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([
      ...Array(MAX_PER_USER).fill(201),
      ...Array(6 - MAX_PER_USER).fill(403),
    ]);
    expect(await tenantsRegisteredBy(person.subject)).toBe(MAX_PER_USER);
  });

  // ---- approval -----------------------------------------------------------------------------------

  it('BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: pending_approval, unusable by anyone until approved', async () => {
    const person = registrant();
    const reply = await register(approval, person.token, {
      organization_name: uniqueMarker('Awaiting'),
      admin_email: person.email,
      include_sample_data: true,
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      requires_approval: true,
      tenant: { status: 'pending_approval' },
    });
    const { id, slug } = reply.body.tenant;
    const [row] = (await db.owner.query('SELECT status FROM tenants WHERE id = $1', [id])) as {
      status: string;
    }[];
    expect(row.status).toBe('pending_approval');

    const registrantToken = hs256Token({ sub: person.subject, email: person.email, tenant: slug });
    const strangerToken = hs256Token({ sub: uniqueMarker('stranger'), tenant: slug });
    const detail = `Tenant "${slug}" is pending approval.`;
    expectError(
      await call(approval, 'GET', '/api/auth/me', { token: registrantToken }),
      403,
      'Forbidden',
      'tenant_not_active',
      detail,
    );
    expectError(
      await call(approval, 'GET', '/api/boards', { token: registrantToken }),
      403,
      'Forbidden',
      'tenant_not_active',
      detail,
    );
    // A stranger whose claim names the slug is no member (the registrant's token named no tenant,
    // so the claim does not admit here): the same 403 as for any tenant one is not in.
    expectError(
      await call(approval, 'GET', '/api/auth/me', { token: strangerToken }),
      403,
      'Forbidden',
      'not_a_member',
      `You are not a member of an organization "${slug}"; ask one of its admins for an invitation.`,
    );
    expectError(
      await call(approval, 'GET', '/api/boards', {
        token: hs256Token({ sub: person.subject, email: person.email }),
        headers: { 'x-tenant': slug },
      }),
      403,
      'Forbidden',
      'tenant_not_active',
      detail,
    );
    expect(await countIn(id, 'users')).toBe(1); // the registrant only; the stranger was not provisioned

    // The registrant cannot approve it; a platform admin can.
    expect(
      (await call(approval, 'POST', `/api/setup/tenant/${id}/approve`, { token: person.token }))
        .status,
    ).toBe(403);
    const approved = await call<TenantBody>(approval, 'POST', `/api/setup/tenant/${id}/approve`, {
      token: TOKENS.platformAdmin,
    });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('active');

    const me = await call<MeBody>(approval, 'GET', '/api/auth/me', { token: registrantToken });
    expect(me.status).toBe(200);
    expect(me.body.user.tenant_role).toBe('admin');
    const boards = await call<{ items: unknown[] }>(approval, 'GET', '/api/boards', {
      token: registrantToken,
    });
    expect(boards.status).toBe(200);
    expect(boards.body.items.length).toBeGreaterThan(0);
  });
});
