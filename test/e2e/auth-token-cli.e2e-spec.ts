import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_JWT_SECRET, bearer, jwtAuthEnv } from 'test/factories/tokens';
import { createTenant, uniqueMarker } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import {
  REPO_ROOT,
  call,
  cleanEnv,
  ensureBuilt,
  getJson,
  runCli,
  startApp,
  type RunningApp,
} from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * `boards auth token` as shipped (node dist/src/cli.js after `npm run build`): prints only the
 * token, which the server configured by the same environment accepts; without --tenant, a token
 * that registers a first tenant; --claim kept unless a flag sets the same claim; refuses without
 * a secret and in production.
 */

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The token's payload (the CLI prints the token and a newline). */
function payloadOf(stdout: string): Record<string, unknown> {
  const [token] = stdout.split('\n');
  expect(token).toMatch(JWT);
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

interface MeBody {
  principal: {
    provider: string;
    subject: string;
    email: string;
    name: string;
    is_platform_admin: boolean;
  };
  tenant: { slug: string };
}

describeWithPostgres('boards auth token', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let multiTenant: RunningApp;
  const env = (extra: Record<string, string> = {}) =>
    cleanEnv({ ...jwtAuthEnv({ BOARDS_PLATFORM_ADMIN_ROLE: 'ops' }), ...extra });

  beforeAll(async () => {
    await ensureBuilt();
    const command = join(REPO_ROOT, 'dist', 'src', 'modules', 'auth', 'auth-token.command.js');
    if (!existsSync(command)) throw new Error(`dist/ predates the auth command: run npm run build`);
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    server = await startApp(db.config(jwtAuthEnv({ BOARDS_PLATFORM_ADMIN_ROLE: 'ops' })));
    multiTenant = await startApp(
      db.config(
        jwtAuthEnv({ BOARDS_MULTI_TENANT_MODE: 'true', BOARDS_RATE_LIMIT_ENABLED: 'false' }),
      ),
    );
  }, 200_000);

  afterAll(async () => {
    await server?.close();
    await multiTenant?.close();
    await db?.drop();
  });

  it('prints only a token that the server accepts, with the requested claims and lifetime', async () => {
    const result = await runCli(
      [
        'auth',
        'token',
        '--sub',
        'cli-user',
        '--tenant',
        'acme',
        '--email',
        'cli@acme.test',
        '--name',
        'Cli User',
        '--ttl',
        '10m',
        '--claim',
        'roles=["ops"]',
        '--claim',
        'team=qa',
      ],
      { env: env() },
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const token = lines[0];
    expect(token).toMatch(JWT);

    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map(
        (part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>,
      );
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'cli-user', tenant: 'acme', roles: ['ops'], team: 'qa' });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(600);

    const me = await getJson<MeBody>(`${server.baseUrl}/api/auth/me`, bearer(token));
    expect(me.status).toBe(200);
    expect(me.body.principal).toEqual({
      provider: 'jwt',
      subject: 'cli-user',
      issuer: null,
      email: 'cli@acme.test',
      email_verified: false,
      name: 'Cli User',
      is_platform_admin: true,
    });
    expect(me.body.tenant.slug).toBe('acme');
  });

  it('without --tenant mints a token naming no tenant, with which a first tenant is registered', async () => {
    const subject = uniqueMarker('first-user');
    const result = await runCli(
      ['auth', 'token', '--sub', subject, '--email', `${subject}@example.com`, '--email-verified'],
      { env: env() },
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const payload = payloadOf(result.stdout);
    expect(payload).not.toHaveProperty('tenant');
    expect(payload).toMatchObject({ sub: subject, email_verified: true });

    const marker = uniqueMarker('org');
    const reply = await call<{ tenant: { slug: string; status: string } }>(
      multiTenant,
      'POST',
      '/api/tenants/register',
      {
        token: result.stdout.trim(),
        body: { organization_name: `Org ${marker}`, admin_email: `${subject}@example.com` },
      },
    );
    expect(reply.status).toBe(201);
    expect(reply.body.tenant).toEqual(
      expect.objectContaining({ slug: `org-${marker}`, status: 'active' }),
    );
  });

  it('keeps --claim values unless a flag sets the same claim, which wins with a note', async () => {
    const kept = await runCli(
      ['auth', 'token', '--sub', 'x', '--claim', 'org_slug=acme', '--claim', 'tenant=["acme"]'],
      { env: env() },
    );
    expect(kept).toMatchObject({ code: 0, stderr: '' });
    expect(payloadOf(kept.stdout)).toMatchObject({ org_slug: 'acme', tenant: ['acme'] });

    const flagWins = await runCli(
      ['auth', 'token', '--sub', 'x', '--tenant', 'acme', '--claim', 'org_slug=globex'],
      { env: env({ BOARDS_JWT_TENANT_CLAIM: 'org_slug' }) },
    );
    expect(flagWins.code).toBe(0);
    expect(flagWins.stderr).toBe('note: --tenant sets "org_slug"; --claim org_slug ignored\n');
    expect(payloadOf(flagWins.stdout)).toMatchObject({ org_slug: 'acme' });
    expect(payloadOf(flagWins.stdout)).not.toHaveProperty('tenant');
  });

  it('refuses without BOARDS_JWT_SECRET and prints nothing on stdout', async () => {
    const result = await runCli(['auth', 'token', '--sub', 'x', '--tenant', 'acme'], {
      env: cleanEnv(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('BOARDS_JWT_SECRET is not set');
  });

  it('refuses when BOARDS_ENVIRONMENT=production', async () => {
    const result = await runCli(['auth', 'token', '--sub', 'x', '--tenant', 'acme'], {
      env: env({
        BOARDS_ENVIRONMENT: 'production',
        BOARDS_JWT_SECRET: TEST_JWT_SECRET,
        BOARDS_DATABASE_URL: 'postgresql://nobody@127.0.0.1:5432/nothing',
        BOARDS_METRICS_PUBLIC: 'true',
        BOARDS_TRUST_PROXY: '10.0.0.0/8',
      }),
    });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('refused when BOARDS_ENVIRONMENT=production');
  });

  it.each([
    ['an invalid tenant slug', ['--sub', 'x', '--tenant', 'Not A Slug'], '--tenant'],
    ['a bad lifetime', ['--sub', 'x', '--tenant', 'acme', '--ttl', 'forever'], '--ttl'],
    ['a reserved claim', ['--sub', 'x', '--tenant', 'acme', '--claim', 'exp=1'], '--claim'],
    [
      'an issuer claim when BOARDS_JWT_ISSUER sets it',
      ['--sub', 'x', '--claim', 'iss=https://other.test'],
      'BOARDS_JWT_ISSUER',
    ],
    ['a --claim without =', ['--sub', 'x', '--claim', 'team'], '--claim'],
    ['no --sub', ['--tenant', 'acme'], '--sub'],
  ])('refuses %s with one line naming the option', async (_, args, option) => {
    const result = await runCli(['auth', 'token', ...args], {
      env: env({ BOARDS_JWT_ISSUER: 'https://boards.test' }),
    });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(option);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
