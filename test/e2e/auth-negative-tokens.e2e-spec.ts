import { randomBytes } from 'node:crypto';
import {
  TEST_JWT_SECRET,
  base64url,
  bearer,
  ecKeyPair,
  encodeJson,
  nowSeconds,
  rsaKeyPair,
  signJws,
  signature,
  type Claims,
  type Header,
} from 'test/factories/tokens';
import { createTenant } from 'test/factories/seed';
import {
  startJwksServer,
  startRecordingServer,
  type JwksServer,
  type RecordingServer,
} from 'test/support/auth-servers';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Forged and broken tokens against three servers (RS256 via JWKS URL, RS256 via PEM, HS256).
 * Every one must be 401 with `WWW-Authenticate: Bearer error="invalid_token"` and the expected
 * short reason; none may be 500. Tokens whose jku/x5u/jwk/kid point at a local listener must not
 * make the server contact it. Each table has a valid control token, so the suite cannot pass by
 * refusing everything.
 */

const ISSUER = 'https://issuer.boards.test';
const AUDIENCE = 'boards-api';
const CHALLENGE = /^Bearer error="invalid_token", error_description="([a-z ]+)"$/;

const main = rsaKeyPair('main');
const attacker = rsaKeyPair('attacker');
const attackerEc = ecKeyPair('main');

function goodClaims(extra: Claims = {}): Claims {
  const now = nowSeconds();
  const claims: Claims = {
    sub: 'mallory',
    tenant: 'acme',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...extra,
  };
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
  return claims;
}

const rs = (claims: Claims = goodClaims(), header: Header = {}) =>
  signJws({ alg: 'RS256', typ: 'JWT', kid: 'main', ...header }, claims, {
    privateKey: main.privateKey,
  });
const byAttacker = (header: Header, claims: Claims = goodClaims()) =>
  signJws({ typ: 'JWT', alg: 'RS256', ...header }, claims, { privateKey: attacker.privateKey });
/** `header.payload.signature` from raw segments, signature computed over them with `key`. */
const raw = (headerSegment: string, payloadSegment: string, sig = '') =>
  `${headerSegment}.${payloadSegment}.${sig}`;
const unsigned = (alg: string) => raw(encodeJson({ alg, typ: 'JWT' }), encodeJson(goodClaims()));

type Case = [name: string, reason: string, token: () => string];

interface Probe {
  status: number;
  challenge: string | null;
  body: { status?: number; error?: string };
}

async function probe(baseUrl: string, token: string): Promise<Probe> {
  const response = await fetch(`${baseUrl}/api/auth/me`, { headers: bearer(token) });
  const text = await response.text();
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: text ? (JSON.parse(text) as Probe['body']) : {},
  };
}

function expectRejected(result: Probe, reason: string): void {
  expect(result.status).toBe(401);
  expect(result.body).toMatchObject({ error: 'Unauthorized', status: 401 });
  expect(result.challenge).toMatch(CHALLENGE);
  expect(CHALLENGE.exec(result.challenge ?? '')?.[1]).toBe(reason);
}

describeWithPostgres('auth: forged and broken tokens are 401, never 500', () => {
  let db: TestDatabase;
  let jwks: JwksServer;
  let listener: RecordingServer;
  let jwksApp: RunningApp;
  let pemApp: RunningApp;
  let hsApp: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'acme');
    await createTenant(db.owner, 'globex');
    jwks = await startJwksServer([main.publicJwk]);
    listener = await startRecordingServer({ keys: [attacker.publicJwk] });
    const common = { BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_ALGORITHM: 'RS256' };
    const claimsChecks = { BOARDS_JWT_ISSUER: ISSUER, BOARDS_JWT_AUDIENCE: AUDIENCE };
    [jwksApp, pemApp, hsApp] = await Promise.all([
      startApp(db.config({ ...common, ...claimsChecks, BOARDS_JWT_PUBLIC_KEY_URL: jwks.url })),
      startApp(db.config({ ...common, ...claimsChecks, BOARDS_JWT_PUBLIC_KEY: main.publicPem })),
      startApp(db.config({ BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_SECRET: TEST_JWT_SECRET })),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([jwksApp?.close(), pemApp?.close(), hsApp?.close()]);
    await Promise.all([jwks?.stop(), listener?.close()]);
    await db?.drop();
  });

  afterEach(() => {
    // No token may make the server fetch a URL taken from it.
    expect(listener.requests).toEqual([]);
  });

  it('control: a well-formed RS256 token is accepted by the JWKS and PEM servers', async () => {
    for (const app of [jwksApp, pemApp]) {
      const result = await probe(app.baseUrl, rs());
      expect(result.status).toBe(200);
    }
  });

  const jwksCases: Case[] = [
    // alg none, in its spellings
    ['alg "none", empty signature', 'algorithm not allowed', () => unsigned('none')],
    ['alg "None"', 'algorithm not allowed', () => unsigned('None')],
    ['alg "NONE"', 'algorithm not allowed', () => unsigned('NONE')],
    ['alg "nOnE"', 'algorithm not allowed', () => unsigned('nOnE')],
    [
      'alg "none" carrying a real RS256 signature',
      'algorithm not allowed',
      () => {
        const input = `${encodeJson({ alg: 'none', kid: 'main' })}.${encodeJson(goodClaims())}`;
        return `${input}.${signature('RS256', input, { privateKey: main.privateKey })}`;
      },
    ],
    [
      'no alg at all',
      'malformed token',
      () => raw(encodeJson({ typ: 'JWT' }), encodeJson(goodClaims()), 'c2ln'),
    ],
    // algorithm confusion with the RSA public key as an HMAC secret
    [
      'HS256 signed with the RS public key (PEM)',
      'algorithm not allowed',
      () => signJws({ alg: 'HS256', kid: 'main' }, goodClaims(), { secret: main.publicPem }),
    ],
    [
      'HS256 signed with the RS public key (DER)',
      'algorithm not allowed',
      () =>
        signJws({ alg: 'HS256', kid: 'main' }, goodClaims(), {
          secret: main.publicKey.export({ format: 'der', type: 'spki' }),
        }),
    ],
    [
      'HS256 signed with the RS public key (JWK JSON)',
      'algorithm not allowed',
      () =>
        signJws({ alg: 'HS256', kid: 'main' }, goodClaims(), {
          secret: JSON.stringify(main.publicJwk),
        }),
    ],
    [
      'HS512 signed with the RS public key (PEM)',
      'algorithm not allowed',
      () => signJws({ alg: 'HS512', kid: 'main' }, goodClaims(), { secret: main.publicPem }),
    ],
    [
      'PS256 signed with the right RSA key (outside the allow-list)',
      'algorithm not allowed',
      () => signJws({ alg: 'PS256', kid: 'main' }, goodClaims(), { privateKey: main.privateKey }),
    ],
    [
      'ES256 by an attacker EC key claiming kid "main"',
      'algorithm not allowed',
      () =>
        signJws({ alg: 'ES256', kid: 'main' }, goodClaims(), {
          privateKey: attackerEc.privateKey,
        }),
    ],
    // keys the server does not hold
    [
      'RS256 by another key claiming kid "main"',
      'invalid signature',
      () => byAttacker({ kid: 'main' }),
    ],
    ['unknown kid', 'unknown signing key', () => byAttacker({ kid: 'retired-2019' })],
    [
      'kid with a path',
      'unknown signing key',
      () => byAttacker({ kid: '../../../../../../dev/null' }),
    ],
    [
      'kid with SQL',
      'unknown signing key',
      () => byAttacker({ kid: "x' UNION SELECT 'secret' --" }),
    ],
    [
      'kid that is a URL of the listener',
      'unknown signing key',
      () => byAttacker({ kid: `${listener.url}/key.pem` }),
    ],
    // key locations taken from the token must be ignored
    [
      'jku at the listener, attacker kid',
      'unknown signing key',
      () => byAttacker({ kid: 'attacker', jku: `${listener.url}/jwks.json` }),
    ],
    [
      'jku at the listener, kid "main"',
      'invalid signature',
      () => byAttacker({ kid: 'main', jku: `${listener.url}/jwks.json` }),
    ],
    [
      'x5u at the listener',
      'invalid signature',
      () => byAttacker({ kid: 'main', x5u: `${listener.url}/cert.pem` }),
    ],
    [
      'embedded jwk of the attacker key',
      'invalid signature',
      () => byAttacker({ kid: 'main', jwk: attacker.publicJwk }),
    ],
    [
      'embedded jwk + x5c + jku + x5u together, no kid',
      'invalid signature',
      () =>
        byAttacker({
          jwk: attacker.publicJwk,
          x5c: [attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
          jku: `${listener.url}/jwks.json`,
          x5u: `${listener.url}/cert.pem`,
        }),
    ],
    // time claims
    [
      'expired an hour ago',
      'token expired',
      () => rs(goodClaims({ iat: nowSeconds() - 7_200, exp: nowSeconds() - 3_600 })),
    ],
    [
      'expired just beyond the clock skew',
      'token expired',
      () => rs(goodClaims({ exp: nowSeconds() - 45 })),
    ],
    [
      'not yet valid (nbf in an hour)',
      'token not yet valid',
      () => rs(goodClaims({ nbf: nowSeconds() + 3_600 })),
    ],
    [
      'issued in the future (iat in an hour)',
      'token issued in the future',
      () => rs(goodClaims({ iat: nowSeconds() + 3_600 })),
    ],
    ['missing exp', 'missing exp claim', () => rs(goodClaims({ exp: undefined }))],
    [
      'exp as a string',
      'invalid claims',
      () => rs(goodClaims({ exp: String(nowSeconds() + 600) })),
    ],
    // issuer and audience
    ['wrong iss', 'invalid issuer', () => rs(goodClaims({ iss: 'https://evil.example' }))],
    ['iss with a trailing slash', 'invalid issuer', () => rs(goodClaims({ iss: `${ISSUER}/` }))],
    ['missing iss', 'invalid issuer', () => rs(goodClaims({ iss: undefined }))],
    ['wrong aud', 'invalid audience', () => rs(goodClaims({ aud: 'another-api' }))],
    ['missing aud', 'invalid audience', () => rs(goodClaims({ aud: undefined }))],
    ['aud array without ours', 'invalid audience', () => rs(goodClaims({ aud: ['a', 'b'] }))],
    // subject
    ['missing sub', 'missing sub claim', () => rs(goodClaims({ sub: undefined }))],
    ['empty sub', 'missing sub claim', () => rs(goodClaims({ sub: '' }))],
    ['sub of 300 characters', 'missing sub claim', () => rs(goodClaims({ sub: 'x'.repeat(300) }))],
    // integrity
    [
      'tampered payload (tenant and sub changed after signing)',
      'invalid signature',
      () => {
        const [h, , s] = rs().split('.');
        return raw(h, encodeJson(goodClaims({ sub: 'root', tenant: 'globex' })), s);
      },
    ],
    ['truncated signature', 'invalid signature', () => rs().slice(0, -12)],
    ['signature removed', 'invalid signature', () => rs().split('.').slice(0, 2).join('.') + '.'],
    [
      "another token's signature",
      'invalid signature',
      () => {
        const [h, p] = rs(goodClaims({ sub: 'other' })).split('.');
        return raw(h, p, rs().split('.')[2]);
      },
    ],
    [
      '16 KB token (padded payload, signature of a smaller token)',
      'invalid signature',
      () => {
        const [h, , s] = rs().split('.');
        const padded = encodeJson(goodClaims({ pad: 'x'.repeat(11_600) }));
        const token = raw(h, padded, s);
        expect(token.length).toBeGreaterThan(15_900);
        return token;
      },
    ],
    // structure
    ['two segments only', 'malformed token', () => rs().split('.').slice(0, 2).join('.')],
    ['four segments', 'malformed token', () => `${rs()}.${base64url('extra')}`],
    [
      'five segments (JWE shape)',
      'malformed token',
      () => ['a', 'b', 'c', 'd', 'e'].map(base64url).join('.'),
    ],
    [
      'non-JSON header',
      'malformed token',
      () => raw(base64url('not json'), encodeJson(goodClaims()), 'c2ln'),
    ],
    [
      'header is a JSON array',
      'malformed token',
      () => raw(encodeJson(['RS256']), encodeJson(goodClaims()), 'c2ln'),
    ],
    [
      'header with characters outside base64url',
      'malformed token',
      () => raw('eyJh*GciOiJSUzI1NiJ9', encodeJson(goodClaims()), 'c2ln'),
    ],
    [
      'non-JSON payload',
      'malformed token',
      () => signJws({ alg: 'RS256', kid: 'main' }, 'not json', { privateKey: main.privateKey }),
    ],
    [
      'payload is a JSON string',
      'malformed token',
      () => signJws({ alg: 'RS256', kid: 'main' }, '"mallory"', { privateKey: main.privateKey }),
    ],
    [
      'crit naming an unknown extension',
      'unsupported critical header',
      () => rs(goodClaims(), { crit: ['exp'], exp: nowSeconds() + 60 }),
    ],
    [
      'crit b64=false (unencoded payload)',
      'unsupported critical header',
      () => rs(goodClaims(), { crit: ['b64'], b64: false }),
    ],
    ['random bytes', 'malformed token', () => randomBytes(48).toString('base64url')],
  ];

  it.each(jwksCases)('RS256 via JWKS URL refuses: %s (%s)', async (_name, reason, token) => {
    expectRejected(await probe(jwksApp.baseUrl, token()), reason);
  });

  const pemCases: Case[] = [
    ['alg "none"', 'algorithm not allowed', () => unsigned('none')],
    [
      'HS256 signed with the configured PEM text',
      'algorithm not allowed',
      () => signJws({ alg: 'HS256' }, goodClaims(), { secret: main.publicPem }),
    ],
    [
      'HS256 signed with the PEM text without its final newline',
      'algorithm not allowed',
      () => signJws({ alg: 'HS256' }, goodClaims(), { secret: main.publicPem.trimEnd() }),
    ],
    [
      'RS256 by another key with its jwk embedded',
      'invalid signature',
      () => byAttacker({ jwk: attacker.publicJwk }),
    ],
    [
      'RS256 by another key with jku at the listener',
      'invalid signature',
      () => byAttacker({ jku: `${listener.url}/jwks.json` }),
    ],
  ];

  it.each(pemCases)('RS256 via PEM refuses: %s (%s)', async (_name, reason, token) => {
    expectRejected(await probe(pemApp.baseUrl, token()), reason);
  });

  const hsClaims = () => ({
    sub: 'mallory',
    tenant: 'acme',
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
  });
  const hsCases: Case[] = [
    [
      'alg "none"',
      'algorithm not allowed',
      () => raw(encodeJson({ alg: 'none' }), encodeJson(hsClaims())),
    ],
    [
      'RS256 token (asymmetric where HS256 is configured)',
      'algorithm not allowed',
      () => byAttacker({}, hsClaims()),
    ],
    [
      'HS256 with another secret',
      'invalid signature',
      () => signJws({ alg: 'HS256' }, hsClaims(), { secret: 'guess' }),
    ],
    [
      'HS256 with an empty secret',
      'invalid signature',
      () => signJws({ alg: 'HS256' }, hsClaims(), { secret: '' }),
    ],
    [
      'HS384 with the right secret (outside the allow-list)',
      'algorithm not allowed',
      () => signJws({ alg: 'HS384' }, hsClaims(), { secret: TEST_JWT_SECRET }),
    ],
  ];

  it('control: a well-formed HS256 token is accepted by the HS256 server', async () => {
    const token = signJws({ alg: 'HS256' }, hsClaims(), { secret: TEST_JWT_SECRET });
    expect((await probe(hsApp.baseUrl, token)).status).toBe(200);
  });

  it.each(hsCases)('HS256 refuses: %s (%s)', async (_name, reason, token) => {
    expectRejected(await probe(hsApp.baseUrl, token()), reason);
  });

  it.each([
    ['Bearer without a token', 'Bearer'],
    ['Bearer with two words', 'Bearer abc def'],
    ['Bearer with a quoted token', 'Bearer "abc"'],
  ])('a malformed Authorization header (%s) is 401 malformed token', async (_, header) => {
    const response = await fetch(`${jwksApp.baseUrl}/api/auth/me`, {
      headers: { authorization: header },
    });
    await response.arrayBuffer();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="malformed token"',
    );
  });

  it('a token beyond 16 KiB reaches the guard (the server allows 32 KiB of headers) and is 401 token too large', async () => {
    const [h, p, s] = rs(goodClaims({ pad: 'x'.repeat(20_000) })).split('.');
    const response = await fetch(`${jwksApp.baseUrl}/api/auth/me`, {
      headers: bearer(raw(h, p, s)),
    });
    await response.arrayBuffer();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="token too large"',
    );
  });

  it('the listener named by jku/x5u/kid never received a request', () => {
    expect(jwksCases.length + pemCases.length + hsCases.length).toBeGreaterThanOrEqual(30);
    expect(listener.requests).toEqual([]);
  });
});
