import { decodeJwt, decodeProtectedHeader } from 'jose';
import { loadConfig } from 'src/core/config/boards-config';
import { AuthTokenCommandError, parseTtl, signDevelopmentToken } from './auth-token.command';

const SECRET = 'cli-unit-secret-cli-unit-secret-cli';
const options = { sub: 'ann', tenant: 'acme', ttl: '1h', claim: [] as string[] };

describe('parseTtl', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['30m', 1_800],
    ['1h', 3_600],
    ['7d', 604_800],
  ])('%s → %i seconds', (value, seconds) => {
    expect(parseTtl(value)).toBe(seconds);
  });

  it.each([['0'], ['1w'], ['-5m'], ['1.5h'], ['400d'], ['']])('refuses %j', (value) => {
    expect(() => parseTtl(value)).toThrow(AuthTokenCommandError);
  });
});

describe('signDevelopmentToken', () => {
  it('uses the configured tenant claim, issuer, audience and HS algorithm', async () => {
    const config = loadConfig({
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: SECRET,
      BOARDS_JWT_ALGORITHM: 'HS512',
      BOARDS_JWT_TENANT_CLAIM: 'org_slug',
      BOARDS_JWT_ISSUER: 'https://boards.test',
      BOARDS_JWT_AUDIENCE: 'boards',
    });
    const token = await signDevelopmentToken(
      config,
      { ...options, claim: ['level=3', 'note=plain text'] },
      new Date(1_800_000_000_000),
    );
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS512', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({
      sub: 'ann',
      org_slug: 'acme',
      level: 3,
      note: 'plain text',
      iss: 'https://boards.test',
      aud: 'boards',
      iat: 1_800_000_000,
      exp: 1_800_003_600,
    });
  });

  it('without --tenant names no tenant; --email-verified adds email_verified: true', async () => {
    const config = loadConfig({ BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_SECRET: SECRET });
    const token = await signDevelopmentToken(config, {
      sub: 'bob',
      email: 'bob@partner.example',
      emailVerified: true,
      ttl: '1h',
      claim: [],
    });
    const claims = decodeJwt(token);
    expect(claims).not.toHaveProperty('tenant');
    expect(claims).toMatchObject({
      sub: 'bob',
      email: 'bob@partner.example',
      email_verified: true,
    });
  });

  it('refuses without a secret and in production', async () => {
    await expect(signDevelopmentToken(loadConfig({}), options)).rejects.toThrow(
      'BOARDS_JWT_SECRET',
    );
    const production = loadConfig({
      BOARDS_ENVIRONMENT: 'production',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: SECRET,
      BOARDS_DATABASE_URL: 'postgresql://x@127.0.0.1/x',
      BOARDS_METRICS_PUBLIC: 'true',
      BOARDS_TRUST_PROXY: '10.0.0.0/8',
    });
    await expect(signDevelopmentToken(production, options)).rejects.toThrow('production');
  });
});
