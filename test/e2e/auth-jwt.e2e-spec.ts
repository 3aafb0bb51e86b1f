import { TENANT_CHANGES_SQL, TenantRegistryWatcher } from 'src/core/cache/tenant-registry.watcher';
import { DataSource, type QueryRunner } from 'typeorm';
import { UsersRepository } from 'src/modules/auth/users.repository';
import {
  PLATFORM_ADMIN_SUBJECT,
  TOKENS,
  bearer,
  hs256Token,
  jwtAuthEnv,
} from 'test/factories/tokens';
import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { getJson, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Authentication through HTTP with BOARDS_AUTH_PROVIDER=jwt (HS256) and with `none`: /api/auth/me,
 * the 401 challenge, public and unknown routes, platform admins, the OpenAPI description, and
 * the hot-path cache (a steady stream of requests from one user touches neither users nor tenants).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OPERATOR_ROLE = 'boards-operator';

interface MeBody {
  principal: {
    provider: string;
    subject: string;
    email: string | null;
    name: string | null;
    is_platform_admin: boolean;
  };
  user: { id: string; tenant_role: string; email: string | null; display_name: string | null };
  tenant: { id: string; slug: string; name: string; status: string };
  roles: string[];
}

describeWithPostgres('auth: jwt provider (HS256)', () => {
  let db: TestDatabase;
  let server: RunningApp;
  const me = (headers: Record<string, string> = {}) =>
    getJson<MeBody>(`${server.baseUrl}/api/auth/me`, headers);

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    await createTenant(db.owner, 'globex');
    server = await startApp(db.config(jwtAuthEnv({ BOARDS_PLATFORM_ADMIN_ROLE: OPERATOR_ROLE })));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('GET /api/auth/me describes principal, user, tenant and roles (snake_case)', async () => {
    const admin = await me(bearer(TOKENS.acme.admin));
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({
      principal: {
        provider: 'jwt',
        subject: 'acme-admin',
        issuer: null,
        email: 'admin@acme.test',
        email_verified: false,
        name: 'acme admin',
        is_platform_admin: false,
      },
      user: {
        id: expect.stringMatching(UUID),
        tenant_role: 'admin',
        membership_source: 'claim',
        email: 'admin@acme.test',
        display_name: 'acme admin',
      },
      tenant: { id: expect.stringMatching(UUID), slug: 'acme', name: 'acme', status: 'active' },
      roles: ['admin'],
    });

    const member = await me(bearer(TOKENS.acme.member));
    expect(member.status).toBe(200);
    expect(member.body.user.tenant_role).toBe('member');
    expect(member.body.roles).toEqual(['member']);
    expect(member.body.tenant.id).toBe(admin.body.tenant.id);
    expect(member.body.user.id).not.toBe(admin.body.user.id);
  });

  it('concurrent first requests of several users to a fresh tenant make exactly one admin', async () => {
    const { slug } = await createTenant(db.owner, uniqueMarker('race'));
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        me(bearer(hs256Token({ sub: `racer-${i}`, tenant: slug }))),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(responses.filter((r) => r.body.user.tenant_role === 'admin')).toHaveLength(1);
  });

  it('the same subject in two tenants is two users', async () => {
    const subject = uniqueMarker('twice');
    const inAcme = await me(bearer(hs256Token({ sub: subject, tenant: 'acme' })));
    const inGlobex = await me(bearer(hs256Token({ sub: subject, tenant: 'globex' })));
    expect([inAcme.status, inGlobex.status]).toEqual([200, 200]);
    expect(inAcme.body.principal.subject).toBe(inGlobex.body.principal.subject);
    expect(inAcme.body.user.id).not.toBe(inGlobex.body.user.id);
  });

  it('a token without a tenant claim lands in the default tenant (single-tenant mode)', async () => {
    const response = await me(bearer(TOKENS.noTenant));
    expect(response.status).toBe(200);
    expect(response.body.tenant.slug).toBe('default');
  });

  it('marks platform admins listed in BOARDS_PLATFORM_ADMIN_SUBJECTS', async () => {
    const response = await me(
      bearer(hs256Token({ sub: PLATFORM_ADMIN_SUBJECT, tenant: 'globex' })),
    );
    expect(response.status).toBe(200);
    expect(response.body.principal).toMatchObject({
      subject: PLATFORM_ADMIN_SUBJECT,
      is_platform_admin: true,
    });
    expect(response.body.roles).toContain('platform_admin');
  });

  it.each([
    ['roles array', { roles: ['reader', OPERATOR_ROLE] }, true],
    ['role string', { role: OPERATOR_ROLE }, true],
    ['groups, space-separated', { groups: `staff ${OPERATOR_ROLE}` }, true],
    ['realm_access.roles (Keycloak)', { realm_access: { roles: [OPERATOR_ROLE] } }, true],
    ['another role', { roles: ['boards-operator-light'] }, false],
    ['role under an unrelated claim', { permissions: [OPERATOR_ROLE] }, false],
  ])('BOARDS_PLATFORM_ADMIN_ROLE in %s → platform admin: %s', async (_, claims, expected) => {
    const token = hs256Token({ sub: uniqueMarker('role'), tenant: 'globex', ...claims });
    const response = await me(bearer(token));
    expect(response.status).toBe(200);
    expect(response.body.principal.is_platform_admin).toBe(expected);
  });

  it('a request without credentials is 401 with a bare Bearer challenge and the error body', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<
      string,
      string
    >[]) {
      const response = await me(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.body).toEqual({
        error: 'Unauthorized',
        code: 'missing_token',
        detail: expect.stringContaining('Authorization: Bearer'),
        status: 401,
        request_id: response.headers.get('x-request-id'),
      });
    }
  });

  it('a rejected token is 401 with error="invalid_token" and a short reason', async () => {
    const expired = hs256Token({ sub: 'late', tenant: 'acme', exp: 1_000_000 });
    const response = await me(bearer(expired));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="token expired"',
    );
    expect(response.body).toMatchObject({
      error: 'Unauthorized',
      code: 'invalid_token',
      status: 401,
    });
  });

  it.each([['/health/live'], ['/health'], ['/metrics'], ['/api/openapi.json']])(
    '%s stays public: 200 without a token and with a broken one',
    async (path) => {
      for (const headers of [{}, { authorization: 'Bearer not.a.token' }] as Record<
        string,
        string
      >[]) {
        const response = await fetch(`${server.baseUrl}${path}`, { headers });
        await response.arrayBuffer();
        expect(response.status).toBe(200);
      }
    },
  );

  it.each([
    ['GET', '/api/no-such-route'],
    ['POST', '/api/auth/no-such-route'],
    ['GET', '/no-such-route'],
  ])('%s %s is 404 without a token (not 401)', async (method, path) => {
    const response = await fetch(`${server.baseUrl}${path}`, { method });
    const body = (await response.json()) as { status: number };
    expect(response.status).toBe(404);
    expect(body.status).toBe(404);
  });

  it('documents GET /api/auth/me with bearer security and its response schema', async () => {
    const doc = await getJson<{
      paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>(`${server.baseUrl}/api/openapi.json`);
    const operation = doc.body.paths['/api/auth/me']?.get;
    expect(operation).toBeDefined();
    expect(operation.security).toEqual([{ bearer: [] }]);
    expect(JSON.stringify(operation.responses)).toContain('MeResponseDto');
    expect(Object.keys(doc.body.components.schemas.MeResponseDto.properties).sort()).toEqual([
      'principal',
      'roles',
      'tenant',
      'user',
    ]);
  });

  it('a tenant suspended through the setup API is refused on the very next request (cache invalidated)', async () => {
    const { id, slug } = await createTenant(db.owner, uniqueMarker('suspend'));
    const token = hs256Token({ sub: 'soon-suspended', tenant: slug });
    expect((await me(bearer(token))).status).toBe(200);
    const suspend = await fetch(`${server.baseUrl}/api/setup/tenant/${id}/suspend`, {
      method: 'POST',
      headers: bearer(TOKENS.platformAdmin),
    });
    await suspend.arrayBuffer();
    expect(suspend.status).toBe(200);
    const after = await me(bearer(token));
    expect(after.status).toBe(403);
    expect(JSON.stringify(after.body)).toContain('suspended');
  });

  it('a steady stream of requests from one user neither queries nor writes users or tenants', async () => {
    const token = hs256Token({ sub: uniqueMarker('steady'), tenant: 'acme', email: 's@acme.test' });
    const first = await me(bearer(token));
    expect(first.status).toBe(200);
    const updatedAt = () =>
      inTenant(db.owner, first.body.tenant.id, async (runner) => {
        const rows = (await runner.query('SELECT updated_at FROM users WHERE id = $1', [
          first.body.user.id,
        ])) as { updated_at: Date }[];
        expect(rows).toHaveLength(1);
        return rows[0].updated_at;
      });
    const before = await updatedAt();
    // Tenants created by earlier tests must not make the registry watcher drop the cache mid-way:
    // two awaited checks leave it with the current fingerprint; then the cache is warmed again.
    const watcher = server.app.get(TenantRegistryWatcher);
    await watcher.poll();
    await watcher.poll();
    expect((await me(bearer(token))).status).toBe(200);

    const dataSource = server.app.get(DataSource);
    const statements: string[] = [];
    let runners = 0;
    const createQueryRunner = dataSource.createQueryRunner.bind(dataSource);
    const runnerSpy = jest
      .spyOn(dataSource, 'createQueryRunner')
      .mockImplementation((mode?: 'master' | 'slave'): QueryRunner => {
        runners += 1;
        const runner = createQueryRunner(mode);
        const query = runner.query.bind(runner);
        runner.query = ((sql: string, ...rest: unknown[]) => {
          // The watcher's once-a-second read of the tenant-change log is not a lookup.
          if (sql !== TENANT_CHANGES_SQL) statements.push(sql);
          return (query as (...args: unknown[]) => Promise<unknown>)(sql, ...rest);
        }) as QueryRunner['query'];
        return runner;
      });
    const readSpy = jest.spyOn(server.app.get(UsersRepository), 'read');
    const writeSpy = jest.spyOn(server.app.get(UsersRepository), 'lockTenant');
    try {
      for (let i = 0; i < 25; i += 1) {
        const response = await me(bearer(token));
        expect(response.status).toBe(200);
        expect(response.body.user.id).toBe(first.body.user.id);
      }
    } finally {
      runnerSpy.mockRestore();
      readSpy.mockRestore();
      writeSpy.mockRestore();
    }
    // The spy saw the request transactions (so it was wired): each takes a runner, and sends
    // nothing when its work sends nothing (the open waits for a first statement). No statement of
    // any of them looked up users or tenants.
    expect(runners).toBeGreaterThanOrEqual(25);
    expect(statements.filter((sql) => /\b(users|tenants)\b/i.test(sql))).toEqual([]);
    expect(readSpy).not.toHaveBeenCalled();
    expect(writeSpy).not.toHaveBeenCalled();
    expect(await updatedAt()).toEqual(before);
  });
});

describeWithPostgres('auth: none provider (development)', () => {
  let db: TestDatabase;
  let server: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    server = await startApp(db.config({ BOARDS_AUTH_PROVIDER: 'none' }));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('every request is the fixed development user, admin of the default tenant', async () => {
    const response = await getJson<MeBody>(`${server.baseUrl}/api/auth/me`);
    expect(response.status).toBe(200);
    expect(response.body.principal).toEqual({
      provider: 'none',
      subject: 'dev-user',
      issuer: null,
      email: 'dev@localhost',
      email_verified: false,
      name: 'Development User',
      is_platform_admin: false,
    });
    expect(response.body.tenant.slug).toBe('default');
    expect(response.body.user.tenant_role).toBe('admin');
  });

  it('ignores any Authorization header and still honours X-Tenant', async () => {
    const response = await getJson<MeBody>(`${server.baseUrl}/api/auth/me`, {
      authorization: 'Bearer garbage',
      'x-tenant': 'acme',
    });
    expect(response.status).toBe(200);
    expect(response.body.principal.subject).toBe('dev-user');
    expect(response.body.tenant.slug).toBe('acme');
  });
});
