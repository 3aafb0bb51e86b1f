import { generateKeyPairSync } from 'node:crypto';
import { errors, type JWK } from 'jose';
import { KeySetUnavailableError } from './jwt-verification';
import { RemoteKeySet, publicSigningKeys } from './remote-key-set';

/** RemoteKeySet with a fake clock and a mocked fetch: when it fetches, and what it keeps. */

function rsaJwk(kid: string): JWK {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' };
}

const header = (kid: string) => ({ alg: 'RS256', kid });
const token = { payload: '', signature: '' };

describe('RemoteKeySet', () => {
  const k1 = rsaJwk('k1');
  const k2 = rsaJwk('k2');
  let now: number;
  let served: () => Response;
  let fetchSpy: jest.SpyInstance;

  const keys =
    (...jwks: JWK[]) =>
    () =>
      new Response(JSON.stringify({ keys: jwks }), {
        headers: { 'content-type': 'application/json' },
      });
  const failing = () => new Response('down', { status: 503 });

  const keySet = () =>
    new RemoteKeySet(async () => 'https://idp.test/jwks', {
      cacheSeconds: 600,
      cooldownSeconds: 30,
      now: () => now,
    });

  beforeEach(() => {
    now = 1_000_000;
    served = keys(k1);
    fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(async () => served());
  });

  afterEach(() => fetchSpy.mockRestore());

  it('concurrent first requests share one fetch, then the set is served from memory', async () => {
    const set = keySet();
    await Promise.all([1, 2, 3].map(() => set.getKey(header('k1'), token)));
    await set.getKey(header('k1'), token);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });

  it('an unknown kid refetches at once, then at most once per cooldown', async () => {
    const set = keySet();
    await set.getKey(header('k1'), token);
    served = keys(k1, k2);
    await expect(set.getKey(header('k2'), token)).resolves.toBeDefined();
    expect(fetchSpy).toHaveBeenCalledTimes(2);

    for (const kid of ['x1', 'x2', 'x3']) {
      await expect(set.getKey(header(kid), token)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    }
    expect(fetchSpy).toHaveBeenCalledTimes(2);
    now += 30_000;
    await expect(set.getKey(header('x4'), token)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetchSpy).toHaveBeenCalledTimes(3);
  });

  it('keeps the last good set when a refetch fails, and after it goes stale', async () => {
    const set = keySet();
    await set.getKey(header('k1'), token);
    served = failing;
    await expect(set.getKey(header('k9'), token)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    now += 3_600_000;
    await expect(set.getKey(header('k1'), token)).resolves.toBeDefined();
    await Promise.resolve();
    await expect(set.getKey(header('k1'), token)).resolves.toBeDefined();
  });

  it('refreshes a stale set in the background while still answering from it', async () => {
    const set = keySet();
    await set.getKey(header('k1'), token);
    now += 600_000;
    served = keys(k2);
    await expect(set.getKey(header('k1'), token)).resolves.toBeDefined();
    expect(fetchSpy).toHaveBeenCalledTimes(2);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(set.getKey(header('k2'), token)).resolves.toBeDefined();
  });

  it('without any set loaded, fails as unavailable and retries once per cooldown', async () => {
    served = failing;
    const set = keySet();
    for (let i = 0; i < 3; i += 1) {
      await expect(set.getKey(header('k1'), token)).rejects.toBeInstanceOf(KeySetUnavailableError);
    }
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    now += 30_000;
    served = keys(k1);
    await expect(set.getKey(header('k1'), token)).resolves.toBeDefined();
    expect(fetchSpy).toHaveBeenCalledTimes(2);
  });
});

describe('publicSigningKeys', () => {
  it('drops symmetric and encryption keys and strips private members', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'ec' };
    const set = publicSigningKeys({
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
        { ...rsaJwk('enc'), use: 'enc' },
        privateJwk,
        'junk',
      ],
    });
    expect(set.keys.map((k) => k.kid)).toEqual(['ec']);
    expect(set.keys[0]).not.toHaveProperty('d');
  });

  it.each([[null], [{}], [{ keys: 'x' }], [{ keys: [{ kty: 'oct', k: 'AA' }] }]])(
    'refuses a document without public signing keys: %j',
    (document) => {
      expect(() => publicSigningKeys(document)).toThrow(KeySetUnavailableError);
    },
  );
});
