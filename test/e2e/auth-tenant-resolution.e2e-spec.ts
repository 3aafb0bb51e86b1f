import { Client } from 'pg';
import { TENANT_CLAIMS } from 'src/modules/auth/tenant-resolver';
import { bearer, hs256Token, jwtAuthEnv, type Claims } from 'test/factories/tokens';
import { createTenant } from 'test/factories/seed';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import { getJson, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * DESIGN.md §2 tenant resolution, rule by rule, in single- and multi-tenant mode: one table of
 * requests (token claims + X-Tenant header) with the outcome expected in each mode.
 *
 * Outcome: a slug (200, the request lands in that tenant) or a status with body fields.
 */

const CUSTOM_CLAIM = 'https://boards.test/tenant';

type Outcome = string | { status: number; body?: Record<string, unknown> };
type Row = [
  name: string,
  claims: Claims,
  header: string | undefined,
  single: Outcome,
  multi: Outcome,
];

const missing = (multi: boolean): Outcome => ({
  status: 400,
  body: { error: 'Bad Request', multi_tenant_mode: multi },
});
const malformed =
  (value: string) =>
  (multi: boolean): Outcome => ({
    status: 400,
    body: { error: 'Bad Request', multi_tenant_mode: multi, provided_tenant: value },
  });
const FORBIDDEN: Outcome = { status: 403, body: { error: 'Forbidden' } };
const NOT_FOUND: Outcome = { status: 404, body: { error: 'Not Found' } };

const badHeaders = [
  'ACME',
  'ac me',
  'acme_corp',
  '-acme',
  'acme-',
  'a'.repeat(51),
  'acme, globex',
  'ácme',
];

const ROWS: Row[] = [
  // 5. default tenant (single) / 400 (multi)
  ['no claim, no header', {}, undefined, 'default', missing(true)],
  // 1. BOARDS_JWT_TENANT_CLAIM first
  [
    'the configured claim wins over "tenant"',
    { [CUSTOM_CLAIM]: 'globex', tenant: 'acme' },
    undefined,
    'globex',
    'globex',
  ],
  // 2. the well-known claims, each alone, then their order
  ...TENANT_CLAIMS.map((claim): Row => [
    `claim "${claim}" alone`,
    { [claim]: 'acme' },
    undefined,
    'acme',
    'acme',
  ]),
  ['"tenant" wins over "org"', { tenant: 'acme', org: 'globex' }, undefined, 'acme', 'acme'],
  [
    '"org_name" wins over "namespace"',
    { org_name: 'globex', namespace: 'acme' },
    undefined,
    'globex',
    'globex',
  ],
  [
    '"group" wins over "workspace"',
    { group: 'globex', workspace: 'acme' },
    undefined,
    'globex',
    'globex',
  ],
  [
    'claim values are normalized ("Acme Corp" → acme-corp)',
    { org_name: 'Acme Corp' },
    undefined,
    'acme-corp',
    'acme-corp',
  ],
  [
    'claim values are normalized ("  ACME  " → acme)',
    { tenant: '  ACME  ' },
    undefined,
    'acme',
    'acme',
  ],
  ['a one-element array claim', { group: ['globex'] }, undefined, 'globex', 'globex'],
  [
    'a claim naming two tenants, X-Tenant picks one',
    { tenant: ['acme', 'globex'] },
    'globex',
    'globex',
    'globex',
  ],
  [
    'a claim naming two tenants, no X-Tenant',
    { tenant: ['acme', 'globex'] },
    undefined,
    missing(false),
    missing(true),
  ],
  [
    'a claim naming two tenants, X-Tenant names a third',
    { tenant: ['acme', 'globex'] },
    'initech',
    FORBIDDEN,
    FORBIDDEN,
  ],
  ['a claim that normalizes to nothing', { tenant: '!!!' }, undefined, FORBIDDEN, FORBIDDEN],
  [
    'a non-string claim is not a tenant name (next claim used)',
    { team: { id: 7 }, workspace: 'acme' },
    undefined,
    'acme',
    'acme',
  ],
  ['an empty claim is skipped', { tenant: '', org: 'globex' }, undefined, 'globex', 'globex'],
  // 4. the header, and its conflicts with the token
  ['X-Tenant alone', {}, 'globex', 'globex', 'globex'],
  ['X-Tenant equal to the claim', { tenant: 'acme' }, 'acme', 'acme', 'acme'],
  ['X-Tenant contradicting the claim', { tenant: 'acme' }, 'globex', FORBIDDEN, FORBIDDEN],
  [
    'X-Tenant contradicting the configured claim',
    { [CUSTOM_CLAIM]: 'acme' },
    'globex',
    FORBIDDEN,
    FORBIDDEN,
  ],
  ...badHeaders.map((value): Row => [
    `malformed X-Tenant ${JSON.stringify(value.length > 20 ? `${value.slice(0, 8)}…(${value.length})` : value)}`,
    {},
    value,
    malformed(value)(false),
    malformed(value)(true),
  ]),
  [
    'malformed X-Tenant even when the claim decides',
    { tenant: 'acme' },
    'Acme',
    malformed('Acme')(false),
    malformed('Acme')(true),
  ],
  // unknown and inactive tenants; nothing is created
  ['unknown tenant by claim', { tenant: 'nowhere' }, undefined, FORBIDDEN, NOT_FOUND],
  ['unknown tenant by header', {}, 'nowhere', FORBIDDEN, NOT_FOUND],
  ['pending_approval tenant by claim', { tenant: 'pending-co' }, undefined, FORBIDDEN, FORBIDDEN],
  ['suspended tenant by header', {}, 'suspended-co', FORBIDDEN, FORBIDDEN],
  ['rejected tenant by claim', { org: 'rejected-co' }, undefined, FORBIDDEN, FORBIDDEN],
  // 3. e-mail domain, multi-tenant mode only
  ['corporate e-mail domain', { email: 'ann@initech.com' }, undefined, 'default', 'initech'],
  [
    'corporate e-mail domain, same X-Tenant',
    { email: 'ann@initech.com' },
    'initech',
    'initech',
    'initech',
  ],
  [
    'corporate e-mail domain, other X-Tenant',
    { email: 'ann@initech.com' },
    'globex',
    'globex',
    FORBIDDEN,
  ],
  [
    'a claim wins over the e-mail domain',
    { tenant: 'globex', email: 'ann@initech.com' },
    undefined,
    'globex',
    'globex',
  ],
  [
    'public mail provider (gmail.com) is skipped',
    { email: 'ann@gmail.com' },
    undefined,
    'default',
    missing(true),
  ],
  [
    'public mail provider variant (hotmail.fr) is skipped',
    { email: 'ann@hotmail.fr' },
    'acme',
    'acme',
    'acme',
  ],
  [
    'unverified e-mail is skipped',
    { email: 'ann@initech.com', email_verified: false },
    undefined,
    'default',
    missing(true),
  ],
  [
    'e-mail domain without a tenant falls through to X-Tenant',
    { email: 'bob@unknown-corp.com' },
    'acme',
    'acme',
    'acme',
  ],
  [
    'e-mail domain without a tenant, no X-Tenant',
    { email: 'bob@unknown-corp.com' },
    undefined,
    'default',
    missing(true),
  ],
  [
    'e-mail domain of a suspended tenant',
    { email: 'eve@suspended-co.com' },
    undefined,
    'default',
    FORBIDDEN,
  ],
];

interface MeBody {
  tenant?: { slug: string };
  [field: string]: unknown;
}

describeWithPostgres('auth: tenant resolution (DESIGN.md §2)', () => {
  let db: TestDatabase;
  let single: RunningApp;
  let multi: RunningApp;
  let tenantCount: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const slug of ['acme', 'globex', 'acme-corp', 'initech'])
      await createTenant(db.owner, slug);
    for (const [slug, status] of [
      ['pending-co', 'pending_approval'],
      ['suspended-co', 'suspended'],
      ['rejected-co', 'rejected'],
    ]) {
      await createTenant(db.owner, slug);
      await db.owner.query('UPDATE tenants SET status = $2 WHERE slug = $1', [slug, status]);
    }
    const env = jwtAuthEnv({ BOARDS_JWT_TENANT_CLAIM: CUSTOM_CLAIM });
    single = await startApp(db.config(env));
    multi = await startApp(db.config({ ...env, BOARDS_MULTI_TENANT_MODE: 'true' }));
    tenantCount = await countTenants();
  }, 60_000);

  afterAll(async () => {
    await Promise.all([single?.close(), multi?.close()]);
    await db?.drop();
  });

  async function countTenants(): Promise<number> {
    const [row] = (await db.owner.query('SELECT count(*)::int AS n FROM tenants')) as {
      n: number;
    }[];
    return row.n;
  }

  async function check(
    app: RunningApp,
    row: number,
    claims: Claims,
    header: string | undefined,
    outcome: Outcome,
  ) {
    const token = hs256Token({ sub: `resolver-${row}`, ...claims });
    if (typeof outcome === 'string') {
      // Resolution is what this table tests; membership (X-Tenant never creates one) is tested
      // on its own below. So the caller first becomes a member through a claim.
      const join = await getJson(
        `${app.baseUrl}/api/auth/me`,
        bearer(hs256Token({ sub: `resolver-${row}`, [CUSTOM_CLAIM]: outcome })),
      );
      expect(join.status).toBe(200);
    }
    const response = await getJson<MeBody>(`${app.baseUrl}/api/auth/me`, {
      ...bearer(token),
      ...(header !== undefined && { 'x-tenant': header }),
    });
    if (typeof outcome === 'string') {
      expect({ status: response.status, slug: response.body.tenant?.slug }).toEqual({
        status: 200,
        slug: outcome,
      });
      return;
    }
    expect(response.status).toBe(outcome.status);
    expect(response.body).toMatchObject({ status: outcome.status, ...outcome.body });
    expect(response.body.request_id).toEqual(expect.any(String));
    if (outcome.body && !('provided_tenant' in outcome.body)) {
      expect(response.body).not.toHaveProperty('provided_tenant');
    }
  }

  const indexed = ROWS.map((row, index) => [index, ...row] as const);

  it.each(indexed)('single-tenant #%i %s', async (index, _name, claims, header, outcome) => {
    await check(single, index, claims, header, outcome);
  });

  it.each(indexed)(
    'multi-tenant #%i %s',
    async (index, _name, claims, header, _single, outcome) => {
      await check(multi, index, claims, header, outcome);
    },
  );

  it('naming a tenant in X-Tenant never makes the caller a member of it; a token claim does', async () => {
    const stranger = hs256Token({ sub: 'stranger-via-header' });
    for (const app of [multi, single]) {
      const refused = await getJson(`${app.baseUrl}/api/auth/me`, {
        ...bearer(stranger),
        'x-tenant': 'initech',
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({
        status: 403,
        detail: expect.stringContaining('not a member'),
      });
    }
    const [{ n: before }] = (await db.owner.query(
      `SELECT count(*)::int AS n FROM tenants WHERE slug = 'initech'`,
    )) as { n: number }[];
    expect(before).toBe(1);
    // Membership through the token's claim; afterwards the header selects it.
    const member = await getJson<MeBody>(
      `${multi.baseUrl}/api/auth/me`,
      bearer(hs256Token({ sub: 'stranger-via-header', [CUSTOM_CLAIM]: 'initech' })),
    );
    expect(member.status).toBe(200);
    const selected = await getJson<MeBody>(`${multi.baseUrl}/api/auth/me`, {
      ...bearer(stranger),
      'x-tenant': 'initech',
    });
    expect(selected.status).toBe(200);
    expect(selected.body.tenant?.slug).toBe('initech');
  });

  it('a corporate e-mail domain provisions only verified addresses, and never as the first admin', async () => {
    const slug = 'hooli';
    await createTenant(db.owner, slug);
    tenantCount += 1;
    const unverified = hs256Token({ sub: 'domain-unverified', email: `ann@${slug}.example` });
    const refused = await getJson(`${multi.baseUrl}/api/auth/me`, bearer(unverified));
    expect(refused.status).toBe(403);
    const verified = hs256Token({
      sub: 'domain-verified',
      email: `bob@${slug}.example`,
      email_verified: true,
    });
    const joined = await getJson<MeBody & { user: { tenant_role: string } }>(
      `${multi.baseUrl}/api/auth/me`,
      bearer(verified),
    );
    expect(joined.status).toBe(200);
    expect(joined.body.tenant?.slug).toBe(slug);
    // Even when the tenant had no admin yet, a domain-matched newcomer is a member.
    expect(joined.body.user.tenant_role).toBe('member');
  });

  it('the 400 for a missing tenant in multi-tenant mode is exactly the documented body', async () => {
    const response = await getJson(
      `${multi.baseUrl}/api/auth/me`,
      bearer(hs256Token({ sub: 'lost' })),
    );
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'Bad Request',
      detail: expect.stringContaining('X-Tenant'),
      status: 400,
      request_id: response.headers.get('x-request-id'),
      multi_tenant_mode: true,
    });
  });

  it('no request created a tenant, and refused requests provisioned no user', async () => {
    expect(await countTenants()).toBe(tenantCount);
    // A superuser session sees every tenant's rows (RLS does not apply to it).
    const url = new URL(ADMIN_URL);
    url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
    const admin = new Client({ connectionString: url.toString() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ subject: string; slug: string }>(
        `SELECT u.auth_subject AS subject, t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id`,
      );
      const landed = new Set(rows.map((r) => `${r.subject}@${r.slug}`));
      ROWS.forEach(([, , , singleOutcome, multiOutcome], index) => {
        for (const outcome of [singleOutcome, multiOutcome]) {
          if (typeof outcome === 'string') expect(landed).toContain(`resolver-${index}@${outcome}`);
        }
        if (typeof singleOutcome !== 'string' && typeof multiOutcome !== 'string') {
          expect(rows.filter((r) => r.subject === `resolver-${index}`)).toEqual([]);
        }
      });
    } finally {
      await admin.end();
    }
  });
});
