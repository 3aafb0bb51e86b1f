import { Command, InvalidArgumentError } from 'commander';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { loadConfig } from 'src/core/config/boards-config';
import {
  AuthTokenCommandError,
  collectClaim,
  parseTtl,
  registerAuthCommands,
  signDevelopmentToken,
  type DevelopmentTokenOptions,
} from './auth-token.command';

const SECRET = 'cli-unit-secret-cli-unit-secret-cli';
const options: DevelopmentTokenOptions = { sub: 'ann', tenant: 'acme', ttl: 3_600 };
const jwtConfig = (env: Record<string, string> = {}) =>
  loadConfig({ BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_SECRET: SECRET, ...env });
const claimsOf = async (
  config: ReturnType<typeof loadConfig>,
  given: Partial<DevelopmentTokenOptions>,
) => {
  const { token, overridden } = await signDevelopmentToken(config, { ...options, ...given });
  return { claims: decodeJwt(token), overridden };
};

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
    expect(() => parseTtl(value)).toThrow(InvalidArgumentError);
  });
});

describe('collectClaim', () => {
  it('collects repeated key=value claims, JSON values as JSON', () => {
    const claims = ['level=3', 'roles=["ops"]', 'note=plain text', 'eq=a=b', 'empty='].reduce(
      (previous: Record<string, unknown> | undefined, entry) => collectClaim(entry, previous),
      undefined,
    );
    expect(claims).toEqual({ level: 3, roles: ['ops'], note: 'plain text', eq: 'a=b', empty: '' });
  });

  it.each([['novalue'], ['=value'], ['']])('refuses %j', (entry) => {
    expect(() => collectClaim(entry, {})).toThrow(InvalidArgumentError);
  });
});

describe('signDevelopmentToken', () => {
  it('uses the configured tenant claim, issuer, audience and HS algorithm', async () => {
    const config = jwtConfig({
      BOARDS_JWT_ALGORITHM: 'HS512',
      BOARDS_JWT_TENANT_CLAIM: 'org_slug',
      BOARDS_JWT_ISSUER: 'https://boards.test',
      BOARDS_JWT_AUDIENCE: 'boards',
    });
    const { token, overridden } = await signDevelopmentToken(
      config,
      { ...options, claim: { level: 3, note: 'plain text' } },
      new Date(1_800_000_000_000),
    );
    expect(overridden).toEqual([]);
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
    const { claims } = await claimsOf(jwtConfig(), {
      sub: 'bob',
      tenant: undefined,
      email: 'bob@partner.example',
      emailVerified: true,
    });
    expect(claims).not.toHaveProperty('tenant');
    expect(claims).toMatchObject({
      sub: 'bob',
      email: 'bob@partner.example',
      email_verified: true,
    });
  });

  it('keeps a --claim that no flag sets, the tenant claim included when --tenant is left out', async () => {
    const config = jwtConfig({ BOARDS_JWT_TENANT_CLAIM: 'org_slug' });
    const { claims, overridden } = await claimsOf(config, {
      tenant: undefined,
      claim: { org_slug: ['acme', 'globex'], email_verified: false, team: 'qa' },
    });
    expect(overridden).toEqual([]);
    expect(claims).toMatchObject({
      org_slug: ['acme', 'globex'],
      email_verified: false,
      team: 'qa',
    });
    // Under the default claim name, org_slug is just another claim, kept beside --tenant.
    const plain = await claimsOf(jwtConfig(), { claim: { org_slug: 'globex' } });
    expect(plain.claims).toMatchObject({ tenant: 'acme', org_slug: 'globex' });
  });

  it('lets --tenant, --email, --email-verified and --name win over a --claim of the same name, and says so', async () => {
    const config = jwtConfig({ BOARDS_JWT_TENANT_CLAIM: 'org_slug' });
    const { claims, overridden } = await claimsOf(config, {
      email: 'ann@acme.test',
      emailVerified: true,
      name: 'Ann',
      claim: {
        org_slug: 'globex',
        email: 'x@y.test',
        email_verified: false,
        name: 'X',
        team: 'qa',
      },
    });
    expect(claims).toMatchObject({
      org_slug: 'acme',
      email: 'ann@acme.test',
      email_verified: true,
      name: 'Ann',
      team: 'qa',
    });
    expect(overridden).toEqual([
      '--tenant sets "org_slug"; --claim org_slug ignored',
      '--email sets "email"; --claim email ignored',
      '--email-verified sets "email_verified"; --claim email_verified ignored',
      '--name sets "name"; --claim name ignored',
    ]);
  });

  it.each(['sub', 'iat', 'exp'])(
    'refuses --claim %s, which the command always sets',
    async (name) => {
      await expect(claimsOf(jwtConfig(), { claim: { [name]: 1 } })).rejects.toThrow(
        new AuthTokenCommandError(
          `--claim cannot set "${name}": the command sets it from ${name === 'sub' ? '--sub' : '--ttl'}`,
        ),
      );
    },
  );

  it('refuses --claim iss and aud when configured, and keeps them otherwise', async () => {
    const configured = jwtConfig({
      BOARDS_JWT_ISSUER: 'https://boards.test',
      BOARDS_JWT_AUDIENCE: 'boards',
    });
    await expect(claimsOf(configured, { claim: { iss: 'https://other.test' } })).rejects.toThrow(
      '--claim cannot set "iss": the command sets it from BOARDS_JWT_ISSUER',
    );
    await expect(claimsOf(configured, { claim: { aud: 'other' } })).rejects.toThrow(
      '--claim cannot set "aud": the command sets it from BOARDS_JWT_AUDIENCE',
    );
    const { claims } = await claimsOf(jwtConfig(), {
      claim: { iss: 'https://idp.partner.example', aud: 'boards' },
    });
    expect(claims).toMatchObject({ iss: 'https://idp.partner.example', aud: 'boards' });
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

describe('boards auth token (option parsing)', () => {
  /** Parses `args` as the command does, with the action replaced by a capture of its options. */
  function parse(args: string[]): DevelopmentTokenOptions {
    const program = new Command('boards').exitOverride().configureOutput({ writeErr: () => {} });
    registerAuthCommands(program, () => jwtConfig());
    const token = program.commands[0].commands[0].exitOverride();
    let parsed: DevelopmentTokenOptions | undefined;
    token.action((given: DevelopmentTokenOptions) => {
      parsed = given;
    });
    program.parse(['auth', 'token', ...args], { from: 'user' });
    if (!parsed) throw new Error('the action did not run');
    return parsed;
  }

  it('needs only --sub: no tenant, a 1 h lifetime, no extra claims', () => {
    expect(parse(['--sub', 'ann'])).toEqual({ sub: 'ann', ttl: 3_600 });
  });

  it('parses --ttl to seconds and collects repeated --claim values', () => {
    expect(
      parse(['--sub', 'ann', '--ttl', '10m', '--claim', 'team=qa', '--claim', 'level=3']),
    ).toMatchObject({ ttl: 600, claim: { team: 'qa', level: 3 } });
  });

  it.each([
    [
      ['--ttl', 'forever'],
      /option '--ttl <duration>' argument 'forever' is invalid\. Use a lifetime/,
    ],
    [
      ['--claim', 'team'],
      /option '--claim <key=value>' argument 'team' is invalid\. Use key=value/,
    ],
  ])('refuses %j while parsing the options', (args, message) => {
    expect(() => parse(['--sub', 'ann', ...args])).toThrow(message);
  });
});
