import { createSecretKey } from 'node:crypto';
import { SignJWT, errors } from 'jose';
import { TokenRejectedError } from './auth.errors';
import {
  KeySetUnavailableError,
  MAX_TOKEN_LENGTH,
  parseUnverified,
  rejectionFor,
  verifyJwt,
  type VerificationPolicy,
} from './jwt-verification';

const key = createSecretKey(Buffer.from('unit-test-secret-unit-test-secret'));
const policy: VerificationPolicy = { algorithms: ['HS256'], clockSkewSeconds: 30 };
const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
}

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof TokenRejectedError ? err.reason : 'other';
  }
}

describe('parseUnverified', () => {
  it('refuses tokens longer than 16 KiB before parsing them', () => {
    const huge = `${segment({ alg: 'HS256' })}.${'A'.repeat(MAX_TOKEN_LENGTH)}.sig`;
    expect(reasonOf(() => parseUnverified(huge))).toBe('token too large');
  });

  it.each([
    ['two segments', `${segment({ alg: 'HS256' })}.${segment({})}`],
    ['empty header', `.${segment({})}.sig`],
    ['header not JSON', `${Buffer.from('{').toString('base64url')}.${segment({})}.sig`],
    ['payload an array', `${segment({ alg: 'HS256' })}.${segment([1])}.sig`],
    ['alg not a string', `${segment({ alg: 1 })}.${segment({})}.sig`],
  ])('refuses %s as malformed', (_, token) => {
    expect(reasonOf(() => parseUnverified(token))).toBe('malformed token');
  });

  it('refuses any crit header (no extension is implemented)', () => {
    const token = `${segment({ alg: 'HS256', crit: ['b64'], b64: true })}.${segment({})}.sig`;
    expect(reasonOf(() => parseUnverified(token))).toBe('unsupported critical header');
  });

  it('returns header, payload and alg of a well-formed token', () => {
    const token = `${segment({ alg: 'HS256', kid: 'k' })}.${segment({ sub: 's' })}.sig`;
    expect(parseUnverified(token)).toEqual({
      alg: 'HS256',
      header: { alg: 'HS256', kid: 'k' },
      payload: { sub: 's' },
    });
  });
});

describe('verifyJwt', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const verify = async (token: string, extra: Partial<VerificationPolicy> = {}) => {
    try {
      await verifyJwt(token, parseUnverified(token), key, { ...policy, ...extra });
      return 'ok';
    } catch (err) {
      return err instanceof TokenRejectedError ? err.reason : String(err);
    }
  };

  it('accepts a valid token and honours the clock skew on exp and nbf', async () => {
    expect(await verify(await sign({ sub: 's', exp: now() + 60 }))).toBe('ok');
    expect(await verify(await sign({ sub: 's', exp: now() - 10 }))).toBe('ok');
    expect(await verify(await sign({ sub: 's', exp: now() + 60, nbf: now() + 10 }))).toBe('ok');
    expect(await verify(await sign({ sub: 's', exp: now() + 60, iat: now() + 10 }))).toBe('ok');
  });

  it.each([
    ['exp beyond the skew', { sub: 's', exp: -100 }, 'token expired'],
    ['nbf beyond the skew', { sub: 's', exp: 600, nbf: 100 }, 'token not yet valid'],
    ['iat beyond the skew', { sub: 's', exp: 600, iat: 100 }, 'token issued in the future'],
    ['no exp', { sub: 's' }, 'missing exp claim'],
    ['no sub', { exp: 600 }, 'missing sub claim'],
    ['numeric sub', { sub: 5, exp: 600 }, 'missing sub claim'],
  ])('refuses %s', async (_, relative, reason) => {
    const claims: Record<string, unknown> = { ...relative };
    for (const name of ['exp', 'nbf', 'iat']) {
      if (typeof claims[name] === 'number') claims[name] = now() + (claims[name] as number);
    }
    expect(await verify(await sign(claims))).toBe(reason);
  });

  it('checks iss and aud exactly when the policy names them', async () => {
    const token = await sign({ sub: 's', exp: now() + 60, iss: 'https://a.test/', aud: 'x' });
    expect(await verify(token, { issuer: 'https://a.test' })).toBe('invalid issuer');
    expect(await verify(token, { issuer: 'https://a.test/', audience: 'y' })).toBe(
      'invalid audience',
    );
    expect(await verify(token, { issuer: 'https://a.test/', audience: 'x' })).toBe('ok');
  });

  it('refuses an algorithm outside the allow-list before looking at the key', async () => {
    const getKey = jest.fn();
    const token = await sign({ sub: 's', exp: now() + 60 });
    await expect(
      verifyJwt(token, parseUnverified(token), getKey, { ...policy, algorithms: ['RS256'] }),
    ).rejects.toMatchObject({ reason: 'algorithm not allowed', stage: 'algorithm' });
    expect(getKey).not.toHaveBeenCalled();
  });
});

describe('rejectionFor', () => {
  it.each([
    [new KeySetUnavailableError('down'), 'signing keys unavailable'],
    [new errors.JWKSNoMatchingKey(), 'unknown signing key'],
    [new errors.JWKSMultipleMatchingKeys(), 'ambiguous signing key'],
    [new errors.JWSSignatureVerificationFailed(), 'invalid signature'],
    [new errors.JOSEAlgNotAllowed('x'), 'algorithm not allowed'],
    [new errors.JWSInvalid('x'), 'malformed token'],
    [new TypeError('surprise'), 'invalid token'],
  ])('maps %s to "%s"', (err, reason) => {
    expect(rejectionFor(err)).toBe(reason);
  });
});
