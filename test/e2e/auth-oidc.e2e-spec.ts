import {
  bearer,
  ecKeyPair,
  hs256Token,
  jwtAuthEnv,
  nowSeconds,
  PLATFORM_ADMIN_SUBJECT,
  rsaKeyPair,
  signJws,
} from 'test/factories/tokens';
import { createTenant } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { getJson, startApp, type RunningApp } from 'test/support/http';
import { TestOidcProvider, type OidcTestClient } from 'test/support/oidc-provider';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * BOARDS_AUTH_PROVIDER=jwt,oidc against two real OpenID Providers (panva/oidc-provider on
 * loopback, tokens by client_credentials with a resource indicator): discovery and JWKS, two
 * issuers side by side, the chain with HS256 development tokens, key rotation (a token signed
 * with a newly rotated key is accepted on its first request, with one JWKS refetch), the
 * cooldown on unknown kids, and the last good key set while the provider is down.
 */

const RESOURCE = 'https://api.boards.test';

interface MeBody {
  principal: { provider: string; subject: string; email: string | null; name: string | null };
  user: { id: string; tenant_role: string };
  tenant: { slug: string };
}

const clients: OidcTestClient[] = [
  {
    client_id: 'alice-app',
    client_secret: 'alice-secret-alice-secret-alice-secret',
    claims: { sub: 'alice', tenant: 'acme', email: 'alice@acme.test', name: 'Alice' },
  },
  {
    client_id: 'shared-app',
    client_secret: 'shared-secret-shared-secret-shared',
    claims: { sub: 'shared-subject', tenant: 'globex' },
  },
];

describeWithPostgres('auth: OpenID Connect with a real OpenID Provider', () => {
  const first = rsaKeyPair('rsa-2024');
  const rotated = rsaKeyPair('rsa-2025');
  const second = ecKeyPair('ec-1', 'ES256');
  const stranger = rsaKeyPair('rsa-unknown');

  let db: TestDatabase;
  let idpA: TestOidcProvider;
  let idpB: TestOidcProvider;
  let server: RunningApp;

  const me = (token: string) => getJson<MeBody>(`${server.baseUrl}/api/auth/me`, bearer(token));

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    await createTenant(db.owner, 'globex');
    [idpA, idpB] = await Promise.all([
      TestOidcProvider.start({
        keys: [first.privateJwk],
        signingKid: first.kid,
        resource: RESOURCE,
        clients,
      }),
      TestOidcProvider.start({
        keys: [second.privateJwk],
        signingKid: second.kid,
        signingAlg: 'ES256',
        resource: RESOURCE,
        clients,
      }),
    ]);
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_AUTH_PROVIDER: 'jwt,oidc',
          // Several identity namespaces: platform-admin entries must name theirs.
          BOARDS_PLATFORM_ADMIN_SUBJECTS: `jwt:${PLATFORM_ADMIN_SUBJECT}`,
          BOARDS_OIDC_ISSUER: `${idpA.issuer},${idpB.issuer}`,
          BOARDS_OIDC_CLIENT_ID: 'boards-web',
          BOARDS_OIDC_AUDIENCE: RESOURCE,
          BOARDS_JWKS_COOLDOWN_SECONDS: '30',
        }),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all([idpA?.stop(), idpB?.stop()]);
    await db?.drop();
  });

  it('accepts an access token of the provider, after discovery and one JWKS fetch', async () => {
    const token = await idpA.token('alice-app');
    const response = await me(token);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      principal: {
        provider: `oidc:127.0.0.1:${idpA.port}`,
        subject: 'alice',
        email: 'alice@acme.test',
        name: 'Alice',
      },
      user: { tenant_role: 'admin' },
      tenant: { slug: 'acme' },
    });
    expect(await idpA.stats()).toMatchObject({ discovery: 1, jwks: 1 });

    // Later requests use the cached key set.
    expect((await me(await idpA.token('alice-app'))).status).toBe(200);
    expect(await idpA.stats()).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('trusts a second issuer (ES256); the same sub from two issuers is two users', async () => {
    const fromA = await me(await idpA.token('shared-app'));
    const fromB = await me(await idpB.token('shared-app'));
    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromB.body.principal.provider).toBe(`oidc:127.0.0.1:${idpB.port}`);
    expect(fromA.body.principal.subject).toBe(fromB.body.principal.subject);
    expect(fromA.body.tenant.slug).toBe('globex');
    expect(fromB.body.tenant.slug).toBe('globex');
    expect(fromA.body.user.id).not.toBe(fromB.body.user.id);
  });

  it('the chain also accepts HS256 development tokens (jwt first)', async () => {
    const response = await me(hs256Token({ sub: 'dev', tenant: 'acme' }));
    expect(response.status).toBe(200);
    expect(response.body.principal.provider).toBe('jwt');
  });

  it('refuses a token of an issuer that is not configured, with a verified signature', async () => {
    const token = signJws(
      { alg: 'RS256', kid: first.kid },
      {
        sub: 'alice',
        tenant: 'acme',
        iss: `${idpA.issuer}/`,
        aud: RESOURCE,
        exp: nowSeconds() + 60,
      },
      { privateKey: first.privateKey },
    );
    const response = await me(token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('untrusted issuer');
  });

  describe('key rotation and outage', () => {
    let before: string;
    let after: string;

    it('a token signed with a newly rotated key is accepted on its first request', async () => {
      before = await idpA.token('alice-app');
      expect((await me(before)).status).toBe(200);
      // The provider now signs with a new key and still publishes the old one.
      idpA = await idpA.restart({
        keys: [rotated.privateJwk, first.privateJwk],
        signingKid: rotated.kid,
      });
      after = await idpA.token('alice-app');
      expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString()).kid).toBe(
        rotated.kid,
      );
      const response = await me(after);
      expect(response.status).toBe(200);
      expect(response.body.principal.subject).toBe('alice');
      // One refetch of the JWKS for the unknown kid; discovery is not repeated.
      expect(await idpA.stats()).toMatchObject({ discovery: 0, jwks: 1 });
      // Tokens signed with the previous key still verify.
      expect((await me(before)).status).toBe(200);
    });

    it('another unknown kid within the cooldown is 401 without refetching', async () => {
      const forged = signJws(
        { alg: 'RS256', kid: stranger.kid },
        { sub: 'alice', tenant: 'acme', iss: idpA.issuer, aud: RESOURCE, exp: nowSeconds() + 60 },
        { privateKey: stranger.privateKey },
      );
      for (let i = 0; i < 3; i += 1) {
        const response = await me(forged);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toContain('unknown signing key');
      }
      expect((await idpA.stats()).jwks).toBe(1);
    });

    it('while the provider is down, known keys still verify and unknown kids are 401', async () => {
      await idpA.stop();
      for (const token of [before, after]) expect((await me(token)).status).toBe(200);
      const forged = signJws(
        { alg: 'RS256', kid: 'another-unknown' },
        { sub: 'alice', tenant: 'acme', iss: idpA.issuer, aud: RESOURCE, exp: nowSeconds() + 60 },
        { privateKey: stranger.privateKey },
      );
      const response = await me(forged);
      expect(response.status).toBe(401);
    });
  });
});
