import { createSecretKey } from 'node:crypto';
import passport from 'passport';
import { Strategy } from 'passport-jwt';
import { TokenRejectedError } from './auth.errors';
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

  it('never shows the expected issuer or audience that jsonwebtoken puts in its messages', () => {
    const audience = refusal(hs256Token(good({ aud: 'other' })));
    expect(audience.message).toContain('boards');
    expect(reasonFor(audience)).toBe('invalid audience');
  });

  it('keeps our own rejections, and calls anything unknown "invalid token"', () => {
    expect(reasonFor(new TypeError('surprise'))).toBe('invalid token');
    expect(reasonFor('a string')).toBe('invalid token');
    expect(reasonFor(new TokenRejectedError('token too large'))).toBe('token too large');
  });
});

describe('AuthStrategyRegistry', () => {
  it('gives each live application its own passport names and releases them on close', () => {
    const first = new AuthStrategyRegistry();
    const second = new AuthStrategyRegistry();
    const strategy = new passport.Strategy();
    expect(first.register('jwt', strategy)).toBe('jwt');
    expect(second.register('jwt', strategy)).toBe('jwt#2');
    expect(second.register('oidc', strategy)).toBe('oidc');
    first.onModuleDestroy();
    let outcome: unknown;
    passport.authenticate('jwt')({}, {}, (err: unknown) => (outcome = err));
    expect(String(outcome)).toMatch(/Unknown authentication strategy "jwt"/);
    const third = new AuthStrategyRegistry();
    expect(third.register('jwt', strategy)).toBe('jwt');
    second.onModuleDestroy();
    third.onModuleDestroy();
  });
});
