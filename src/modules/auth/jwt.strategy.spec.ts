import { createSecretKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import passport from 'passport';
import { Strategy } from 'passport-jwt';
import { TokenRejectedError, invalidToken } from './auth.errors';
import { AuthStrategyRegistry } from './auth-strategies';
import { reasonFor } from './jwt.strategy';
import {
  TEST_JWT_SECRET,
  encodeJson,
  hs256Token,
  nowSeconds,
  signJws,
  withTimes,
} from 'test/factories/tokens';

/**
 * The reasons of the 401 challenge for what jsonwebtoken reports, pinned against the installed
 * jsonwebtoken itself (through passport-jwt's own verifier): if an upgrade renames an error or
 * rewords a message, a case here fails instead of a forged token falling into "invalid token".
 */

type Verifier = (
  token: string,
  key: unknown,
  options: Record<string, unknown>,
  done: (err: Error | null, payload?: unknown) => void,
) => void;
const verifyWithJsonWebToken = (Strategy as unknown as { JwtVerifier: Verifier }).JwtVerifier;

const KEY = createSecretKey(Buffer.from(TEST_JWT_SECRET, 'utf8'));
const OPTIONS = { algorithms: ['HS256'], issuer: 'https://issuer.test', audience: 'boards' };

function refusal(token: string, options: Record<string, unknown> = OPTIONS): Error {
  let failure: Error | null = null;
  verifyWithJsonWebToken(token, KEY, options, (err) => (failure = err));
  if (!failure) throw new Error('jsonwebtoken accepted the token');
  return failure;
}

const good = (extra: Record<string, unknown> = {}) =>
  withTimes({ sub: 's', iss: 'https://issuer.test', aud: 'boards', ...extra });

describe('reasonFor: jsonwebtoken errors become the short reasons', () => {
  it('accepts the control token (so each case below is refused for its own reason)', () => {
    let payload: unknown;
    verifyWithJsonWebToken(
      hs256Token(good()),
      KEY,
      OPTIONS,
      (_err, verified) => (payload = verified),
    );
    expect(payload).toMatchObject({ sub: 's' });
  });

  it.each<[string, string, () => string]>([
    ['expired', 'token expired', () => hs256Token(good({ exp: nowSeconds() - 60 }))],
    ['not yet valid', 'token not yet valid', () => hs256Token(good({ nbf: nowSeconds() + 3_600 }))],
    ['another secret', 'invalid signature', () => hs256Token(good(), 'x'.repeat(40))],
    ['signature removed', 'invalid signature', () => hs256Token(good()).replace(/[^.]+$/, '')],
    [
      'HS384 outside the allow-list',
      'algorithm not allowed',
      () => signJws({ alg: 'HS384' }, good(), { secret: TEST_JWT_SECRET }),
    ],
    ['wrong audience', 'invalid audience', () => hs256Token(good({ aud: 'other' }))],
    ['wrong issuer', 'invalid issuer', () => hs256Token(good({ iss: 'https://evil.test' }))],
    ['exp as a string', 'invalid claims', () => hs256Token(good({ exp: 'tomorrow' }))],
    ['nbf as a string', 'invalid claims', () => hs256Token(good({ nbf: 'now' }))],
    [
      'two segments',
      'malformed token',
      () => `${encodeJson({ alg: 'HS256' })}.${encodeJson(good())}`,
    ],
  ])('%s → "%s"', (_name, reason, token) => {
    expect(reasonFor(refusal(token()))).toBe(reason);
  });

  it('the 401 never shows the expected issuer or audience that jsonwebtoken puts in its messages', () => {
    for (const token of [good({ aud: 'other' }), good({ iss: 'https://evil.test' })]) {
      const refused = refusal(hs256Token(token));
      expect(refused.message).toMatch(/boards|issuer\.test/); // jsonwebtoken echoes the configuration
      const answer = invalidToken(reasonFor(refused));
      const shown = `${answer.detail} ${JSON.stringify(answer.headers)}`;
      expect(shown).not.toContain('boards');
      expect(shown).not.toContain('issuer.test');
    }
  });

  it('keeps our own rejections, and calls anything unknown "invalid token"', () => {
    expect(reasonFor(new TypeError('surprise'))).toBe('invalid token');
    expect(reasonFor('a string')).toBe('invalid token');
    expect(reasonFor(new TokenRejectedError('token too large'))).toBe('token too large');
  });
});

describe('AuthStrategyRegistry', () => {
  it('gives each application names never used before in the process, and removes them at shutdown', () => {
    const first = new AuthStrategyRegistry();
    const second = new AuthStrategyRegistry();
    const strategy = new passport.Strategy();
    const jwt = first.register('jwt', strategy);
    const jwt2 = second.register('jwt', strategy);
    expect(jwt2).not.toBe(jwt);
    expect(second.register('oidc', strategy)).not.toBe(jwt);
    first.onApplicationShutdown();
    let outcome: unknown;
    passport.authenticate(jwt)({}, {}, (err: unknown) => (outcome = err));
    expect(String(outcome)).toMatch(/Unknown authentication strategy/);
    // A name released is not handed out again: a late request of the closed application can
    // never meet another application's strategy under it.
    const third = new AuthStrategyRegistry();
    const jwt3 = third.register('jwt', strategy);
    expect([jwt, jwt2]).not.toContain(jwt3);
    second.onApplicationShutdown();
    third.onApplicationShutdown();
  });

  it('no source imports PassportModule, whose defaultStrategy would override the names', () => {
    const importing = sourcesUnder(join(__dirname, '../..')).filter((file) =>
      /import\s*\{[^}]*\bPassportModule\b[^}]*\}\s*from/.test(readFileSync(file, 'utf8')),
    );
    expect(importing).toEqual([]);
  });
});

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
