import { bearer, nowSeconds, rsaKeyPair, signJws, type TestKeyPair } from 'test/factories/tokens';
import { createTenant } from 'test/factories/seed';
import { startJwksServer, type JwksServer } from 'test/support/auth-servers';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * RS256 with BOARDS_JWT_PUBLIC_KEY_URL against a JWKS endpoint the test controls and counts:
 * the last good key set keeps serving while the endpoint fails or is gone, unknown kids are 401
 * and cause at most one refetch per BOARDS_JWKS_COOLDOWN_SECONDS, a key published later is
 * picked up on its first request, and a server that never loaded keys recovers by itself.
 */

const COOLDOWN_SECONDS = 1;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokenFor(key: TestKeyPair, kid = key.kid): string {
  return signJws(
    { alg: 'RS256', typ: 'JWT', kid },
    { sub: 'outage-user', tenant: 'acme', iat: nowSeconds(), exp: nowSeconds() + 600 },
    { privateKey: key.privateKey },
  );
}

describeWithPostgres('auth: JWKS caching, cooldown and outage', () => {
  const known = rsaKeyPair('known');
  const later = rsaKeyPair('later');
  const stranger = rsaKeyPair('stranger');

  let db: TestDatabase;
  let jwks: JwksServer;
  let server: RunningApp;

  const status = async (app: RunningApp, token: string) => {
    const response = await fetch(`${app.baseUrl}/api/auth/me`, { headers: bearer(token) });
    await response.arrayBuffer();
    return { status: response.status, challenge: response.headers.get('www-authenticate') };
  };
  const config = (url: string) =>
    db.config({
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_ALGORITHM: 'RS256',
      BOARDS_JWT_PUBLIC_KEY_URL: url,
      BOARDS_JWKS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    jwks = await startJwksServer([known.publicJwk]);
    server = await startApp(config(jwks.url));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await jwks?.stop();
    await db?.drop();
  });

  it('fetches the key set once and serves later requests from the cache', async () => {
    for (let i = 0; i < 5; i += 1) expect((await status(server, tokenFor(known))).status).toBe(200);
    expect(jwks.hits).toBe(1);
  });

  it('while the endpoint fails: known keys verify, unknown kids are 401 with one refetch per cooldown', async () => {
    jwks.mode = 'error';
    await pause(COOLDOWN_SECONDS * 1000 + 100);
    const start = jwks.hits;
    for (let i = 0; i < 5; i += 1) {
      const result = await status(server, tokenFor(stranger, `unknown-${i}`));
      expect(result.status).toBe(401);
      expect(result.challenge).toContain('unknown signing key');
      expect((await status(server, tokenFor(known))).status).toBe(200);
    }
    expect(jwks.hits - start).toBe(1);

    await pause(COOLDOWN_SECONDS * 1000 + 100);
    for (let i = 0; i < 3; i += 1) {
      expect((await status(server, tokenFor(stranger, `again-${i}`))).status).toBe(401);
    }
    expect(jwks.hits - start).toBe(2);
    expect((await status(server, tokenFor(known))).status).toBe(200);
  });

  it('a key published after the outage is accepted on its first request', async () => {
    jwks.mode = 'up';
    jwks.keys = [known.publicJwk, later.publicJwk];
    await pause(COOLDOWN_SECONDS * 1000 + 100);
    const start = jwks.hits;
    expect((await status(server, tokenFor(later))).status).toBe(200);
    expect(jwks.hits - start).toBe(1);
  });

  it('with the endpoint gone (connection refused), every known key keeps verifying', async () => {
    await jwks.stop();
    await pause(COOLDOWN_SECONDS * 1000 + 100);
    for (const key of [known, later])
      expect((await status(server, tokenFor(key))).status).toBe(200);
    const result = await status(server, tokenFor(stranger));
    expect(result.status).toBe(401);
    expect(result.challenge).toContain('unknown signing key');
  });

  it('a server that could never load keys answers 401 and retries once per cooldown', async () => {
    const down = await startJwksServer([known.publicJwk]);
    down.mode = 'error';
    const fresh = await startApp(config(down.url));
    try {
      for (let i = 0; i < 4; i += 1) {
        const result = await status(fresh, tokenFor(known));
        expect(result.status).toBe(401);
        expect(result.challenge).toContain('signing keys unavailable');
      }
      expect(down.hits).toBe(1);
      down.mode = 'up';
      await pause(COOLDOWN_SECONDS * 1000 + 100);
      expect((await status(fresh, tokenFor(known))).status).toBe(200);
      expect(down.hits).toBe(2);
    } finally {
      await fresh.close();
      await down.stop();
    }
  });
});
