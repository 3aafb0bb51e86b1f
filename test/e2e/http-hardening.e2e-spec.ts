import { createTenant, uniqueMarker, type SeededTenant } from 'test/factories/seed';
import { bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * HTTP hardening through real requests: helmet's security headers, the strict API CSP and
 * `Cache-Control: no-store` on /api responses, no X-Powered-By, CORS from BOARDS_CORS_ORIGINS
 * (credentials only for listed origins, never with `*`), HTTPS enforcement (403 on plain-HTTP API
 * requests, probes and /metrics exempt, X-Forwarded-Proto trusted only from BOARDS_TRUST_PROXY,
 * HSTS), and the body and header size limits.
 */

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
const ALLOWED = 'https://app.example.test';
const SECOND = 'https://admin.example.test';
const STRANGER = 'https://evil.example.test';
const BODY_LIMIT = 4_096;

describe('HTTP hardening', () => {
  let db: TestDatabase;
  let tenant: SeededTenant;
  let token: string;
  const start = (overrides: Record<string, string>) =>
    startApp(db.config(jwtAuthEnv(overrides)), db.embedded ? { databaseTarget: db.target } : {});

  beforeAll(async () => {
    db = await createTestDatabase();
    tenant = await createTenant(db.owner, uniqueMarker('hard'));
    token = hs256Token({ sub: uniqueMarker('user'), tenant: tenant.slug });
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  describe('headers, CORS and limits (BOARDS_CORS_ORIGINS set, HTTPS not required)', () => {
    let server: RunningApp;

    beforeAll(async () => {
      server = await start({
        BOARDS_CORS_ORIGINS: `${ALLOWED},${SECOND}`,
        BOARDS_API_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      });
    }, 60_000);

    afterAll(async () => {
      await server?.close();
    });

    it.each(['/api/boards', '/health/live', '/api/nothing-here'])(
      'helmet security headers on %s, and no X-Powered-By',
      async (path) => {
        const { headers } = await call(server, 'GET', path, { token });
        expect({
          'x-content-type-options': headers.get('x-content-type-options'),
          'x-frame-options': headers.get('x-frame-options'),
          'referrer-policy': headers.get('referrer-policy'),
          'cross-origin-opener-policy': headers.get('cross-origin-opener-policy'),
          'cross-origin-resource-policy': headers.get('cross-origin-resource-policy'),
          'x-dns-prefetch-control': headers.get('x-dns-prefetch-control'),
          'x-permitted-cross-domain-policies': headers.get('x-permitted-cross-domain-policies'),
        }).toEqual({
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'SAMEORIGIN',
          'referrer-policy': 'no-referrer',
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-resource-policy': 'same-origin',
          'x-dns-prefetch-control': 'off',
          'x-permitted-cross-domain-policies': 'none',
        });
        expect(headers.get('x-powered-by')).toBeNull();
        expect(headers.get('server')).toBeNull();
        // HTTPS is not required here, so no HSTS.
        expect(headers.get('strict-transport-security')).toBeNull();
      },
    );

    it.each([
      ['an authenticated read', '/api/boards', true, 200],
      ['a refused request', '/api/boards', false, 401],
      ['an unknown API route', '/api/nothing-here', true, 404],
    ])('%s gets the API CSP and Cache-Control: no-store', async (_, path, withToken, status) => {
      const answer = await call(server, 'GET', path, { headers: withToken ? bearer(token) : {} });
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-security-policy')).toBe(API_CSP);
      expect(answer.headers.get('cache-control')).toBe('no-store');
    });

    it('an allowed origin is echoed with credentials and the exposed headers', async () => {
      for (const origin of [ALLOWED, SECOND]) {
        const { status, headers } = await call(server, 'GET', '/api/boards', {
          headers: { ...bearer(token), origin },
        });
        expect(status).toBe(200);
        expect(headers.get('access-control-allow-origin')).toBe(origin);
        expect(headers.get('access-control-allow-credentials')).toBe('true');
        expect(headers.get('vary')).toMatch(/origin/i);
        const exposed = (headers.get('access-control-expose-headers') ?? '').toLowerCase();
        for (const name of ['x-request-id', 'etag', 'retry-after', 'x-ratelimit-remaining']) {
          expect(exposed.split(/\s*,\s*/)).toContain(name);
        }
      }
    });

    it('another origin gets no CORS grant', async () => {
      const { headers } = await call(server, 'GET', '/api/boards', {
        headers: { ...bearer(token), origin: STRANGER },
      });
      // No Access-Control-Allow-Origin: the browser withholds the response. (@fastify/cors still
      // sends Access-Control-Allow-Credentials, which grants nothing on its own.)
      expect(headers.get('access-control-allow-origin')).toBeNull();
    });

    it('a preflight from an allowed origin lists the methods and request headers', async () => {
      const requested = [
        'authorization',
        'content-type',
        'idempotency-key',
        'if-match',
        'x-tenant',
      ];
      const preflight = await call(server, 'OPTIONS', '/api/boards/some-id', {
        headers: {
          origin: ALLOWED,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': requested.join(', '),
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
      expect(preflight.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
      const allowed = (preflight.headers.get('access-control-allow-headers') ?? '')
        .toLowerCase()
        .split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining([...requested, 'x-request-id']));
      expect(preflight.headers.get('access-control-max-age')).toBe('600');

      const refused = await call(server, 'OPTIONS', '/api/boards', {
        headers: { origin: STRANGER, 'access-control-request-method': 'POST' },
      });
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('a body over BOARDS_API_BODY_LIMIT_BYTES is 413 with the documented error body', async () => {
      const answer = await call(server, 'POST', '/api/boards', {
        token,
        body: { title: 'big', description: 'x'.repeat(BODY_LIMIT) },
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text)).toEqual({
        error: 'Payload Too Large',
        code: 'payload_too_large',
        detail: expect.any(String),
        status: 413,
        request_id: answer.headers.get('x-request-id'),
      });
      expect(answer.headers.get('cache-control')).toBe('no-store');

      const justUnder = await call(server, 'POST', '/api/boards', {
        token,
        body: { title: 'fits', description: 'x'.repeat(BODY_LIMIT - 200) },
      });
      expect(justUnder.status).toBe(201);
    });

    it('headers over 32 KiB are refused (431); a token over 16 KiB is refused by the guard', async () => {
      const huge = await call(server, 'GET', '/api/boards', {
        headers: { ...bearer(token), 'x-padding': 'p'.repeat(40 * 1024) },
      });
      expect(huge.status).toBe(431);

      const bigToken = hs256Token({
        sub: 'big',
        tenant: tenant.slug,
        padding: 'p'.repeat(20 * 1024),
      });
      const refused = await call(server, 'GET', '/api/boards', { headers: bearer(bigToken) });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('token too large');
    });
  });

  describe('BOARDS_REQUIRE_HTTPS=true outside production (the client is not the trusted proxy), CORS "*"', () => {
    let server: RunningApp;

    beforeAll(async () => {
      // Only 10.9.9.9 is trusted: the test client (127.0.0.1) is not, so its X-Forwarded-Proto
      // is not believed. (Trusting no proxy at all is refused at start with HTTPS required.)
      server = await start({
        BOARDS_REQUIRE_HTTPS: 'true',
        BOARDS_TRUST_PROXY: '10.9.9.9',
        BOARDS_CORS_ORIGINS: '*',
      });
    }, 60_000);

    afterAll(async () => {
      await server?.close();
    });

    it('a plain-HTTP API request is 403 with the documented body, even with a valid token', async () => {
      const answer = await call(server, 'GET', '/api/boards', { token });
      expect(answer.status).toBe(403);
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      expect(body).toEqual({
        error: 'Forbidden',
        code: 'https_required',
        detail: 'HTTPS is required; send the request over https://.',
        status: 403,
        request_id: expect.any(String),
      });
      expect(answer.headers.get('strict-transport-security')).toBe(
        'max-age=31536000; includeSubDomains',
      );
      expect(answer.headers.get('cache-control')).toBe('no-store');
      // Every response carries X-Request-Id, this one too (fails until the request-id hook in
      // src/main.ts runs before the HTTPS hook of src/core/http/http-hardening.ts).
      expect(answer.headers.get('x-request-id')).toBe(body.request_id);
    });

    it('X-Forwarded-Proto is not trusted from a client that is not the proxy', async () => {
      const answer = await call(server, 'GET', '/api/boards', {
        headers: { ...bearer(token), 'x-forwarded-proto': 'https' },
      });
      expect(answer.status).toBe(403);
    });

    it.each(['/health/live', '/health/ready', '/health', '/metrics', '/health/live?probe=1'])(
      '%s stays reachable over plain HTTP',
      async (path) => {
        const answer = await call(server, 'GET', path);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('strict-transport-security')).toBe(
          'max-age=31536000; includeSubDomains',
        );
      },
    );

    it('paths that merely start like an exempt one are not exempt', async () => {
      for (const path of [
        '/healthz',
        '/metrics-export',
        '/health/live/extra',
        '/api/health/live',
      ]) {
        expect([path, (await call(server, 'GET', path, { token })).status]).toEqual([path, 403]);
      }
    });

    it('CORS "*" allows any origin but never with credentials', async () => {
      const answer = await call(server, 'GET', '/health/live', { headers: { origin: STRANGER } });
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    });
  });

  describeWithPostgres('production behind a TLS-terminating proxy', () => {
    let server: RunningApp;

    beforeAll(async () => {
      // Production: HTTPS required by default, X-Forwarded-* trusted from the configured proxy
      // (the ingress sets them; here the test client is that proxy).
      // BOARDS_METRICS_PUBLIC: the scrape is checked below without its token.
      server = await start({
        BOARDS_ENVIRONMENT: 'production',
        BOARDS_TRUST_PROXY: '127.0.0.1',
        BOARDS_METRICS_PUBLIC: 'true',
      });
    }, 60_000);

    afterAll(async () => {
      await server?.close();
    });

    it('refuses plain HTTP and serves X-Forwarded-Proto: https, with HSTS', async () => {
      const plain = await call(server, 'GET', '/api/boards', { token });
      expect(plain.status).toBe(403);

      const proxied = await call(server, 'GET', '/api/boards', {
        headers: { ...bearer(token), 'x-forwarded-proto': 'https' },
      });
      expect(proxied.status).toBe(200);
      expect(proxied.headers.get('strict-transport-security')).toBe(
        'max-age=31536000; includeSubDomains',
      );
      expect(proxied.headers.get('cache-control')).toBe('no-store');
      expect(proxied.headers.get('content-security-policy')).toBe(API_CSP);
    });

    it('probes and the scrape stay reachable over plain HTTP', async () => {
      for (const path of ['/health/live', '/health/ready', '/metrics']) {
        expect([path, (await call(server, 'GET', path)).status]).toEqual([path, 200]);
      }
    });
  });
});
