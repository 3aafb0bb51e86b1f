import { BUILT_IN_RESERVED_SLUGS, loadConfig, type BoardsConfig } from './boards-config';
import { ConfigError, type Env } from './env-parsers';
import Fastify from 'fastify';

const SECRET_32 = 'k'.repeat(32);
const DB_URL = 'postgresql://boards_app:pw@db:5432/boards';
const METRICS_TOKEN = 'scrape-8f1d2c9a7b3e4f5a6c7d';
/** The smallest valid production environment; each test changes one thing. */
const PRODUCTION: Env = {
  BOARDS_ENVIRONMENT: 'production',
  BOARDS_AUTH_PROVIDER: 'jwt',
  BOARDS_JWT_SECRET: SECRET_32,
  BOARDS_DATABASE_URL: DB_URL,
  BOARDS_METRICS_TOKEN: METRICS_TOKEN,
  BOARDS_TRUST_PROXY: '10.0.0.0/8',
};

/** The ConfigError thrown for this environment (fails the test when none is thrown). */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

function expectRefused(env: Env, variable: string, problem?: RegExp): ConfigError {
  const error = configError(env);
  expect(error.variable).toBe(variable);
  expect(error.message.startsWith(`${variable}: `)).toBe(true);
  expect(error.message).not.toContain('\n');
  if (problem) expect(error.problem).toMatch(problem);
  return error;
}

describe('loadConfig', () => {
  describe('defaults with an empty environment', () => {
    let config: BoardsConfig;
    beforeAll(() => {
      config = loadConfig({});
    });

    it('is a development, single-tenant setup on the embedded database without auth', () => {
      expect(config.environment).toBe('development');
      expect(config.isProduction).toBe(false);
      expect(config.debug).toBe(false);
      expect(config.usesEmbeddedDatabase).toBe(true);
      expect(config.auth.providers).toEqual(['none']);
      expect(config.tenancy).toEqual({
        multiTenantMode: false,
        defaultTenantName: 'Default Organization',
        defaultTenantSlug: 'default',
        isolation: 'shared',
        tenantDatabaseUrlTemplate: undefined,
        tenantDatabaseOwnerUrlTemplate: undefined,
        tenantDataSourceCacheSize: 50,
        tenantConnectionBudget: 100,
        registration: { requiresApproval: false, allowedDomains: [], maxTenantsPerUser: 3 },
        reservedSlugs: new Set(BUILT_IN_RESERVED_SLUGS),
        deletedSlugQuarantineDays: 30,
        invitationTtlDays: 7,
      });
      expect(config.tenancy.reservedSlugs.has('default')).toBe(false);
      expect(config.warnings).toEqual([]);
    });

    it('has the documented database, API and observability defaults', () => {
      expect(config.database).toEqual({
        url: undefined,
        ownerUrl: undefined,
        poolSize: 10,
        runtimeRole: 'boards_app',
        autoMigrate: true,
        embeddedDataDir: '.boards/pgdata',
        statementTimeoutMs: 30_000,
        preparedStatements: true,
        connectTimeoutMs: 3_000,
        statementTimeouts: { read: 5_000, write: 10_000, search: 2_000, admin: 300_000 },
        tenantPoolPercent: 50,
        tenantSearchPercent: 10,
        tenantQueueMs: 1_000,
        searchMsPerSecond: 250,
        searchBurstMs: 500,
      });
      expect(config.quotas).toEqual({
        boards: 10_000,
        generations_per_board: 10_000,
        members_per_board: 1_000,
        stored_bytes: 1_073_741_824,
      });
      expect(config.listPageMaxBytes).toBe(262_144);
      expect(config.listBytesPerSecond).toBe(2_097_152);
      expect(config.redisUrl).toBeUndefined();
      expect(config.api).toEqual({
        host: '0.0.0.0',
        port: 8800,
        workers: 1,
        corsOrigins: [],
        frontendBaseUrl: undefined,
        bodyLimitBytes: 1_048_576,
        shutdownDrainSeconds: 5,
        requireHttps: false,
        trustProxy: false,
        directRoutes: true,
      });
      expect(config.observability).toEqual({
        logLevel: 'info',
        auditLogging: false,
        advancedMetrics: false,
        metricsToken: undefined,
        metricsPublic: false,
        metricsTenantLabelLimit: 100,
        healthCacheMs: 1_500,
        readinessRefreshMs: 1_000,
      });
    });

    it('has the documented auth defaults', () => {
      expect(config.auth.jwt).toEqual({
        secret: undefined,
        algorithm: 'HS256',
        publicKey: undefined,
        publicKeyUrl: undefined,
        issuer: undefined,
        audience: undefined,
        tenantClaim: 'tenant',
        clockSkewSeconds: 30,
      });
      expect(config.auth.oidc).toEqual({
        issuers: [],
        clientId: undefined,
        clientSecret: undefined,
        audience: undefined,
      });
      expect(config.auth.jwksCacheSeconds).toBe(600);
      expect(config.auth.jwksCooldownSeconds).toBe(30);
      expect(config.auth.platformAdminSubjects).toEqual([]);
      expect(config.auth.platformAdminRole).toBeUndefined();
      expect(config.auth.tokenCache).toEqual({ maxEntries: 50_000, maxBytes: 33_554_432 });
    });

    it('treats blank values as unset', () => {
      const blank = loadConfig({
        BOARDS_API_PORT: '  ',
        BOARDS_TENANT_SLUG: '',
        BOARDS_DEBUG: ' ',
      });
      expect(blank.api.port).toBe(8800);
      expect(blank.tenancy.defaultTenantSlug).toBe('default');
      expect(blank.debug).toBe(false);
    });

    it('does not read process.env', () => {
      const before = process.env.BOARDS_API_PORT;
      process.env.BOARDS_API_PORT = '1234';
      try {
        expect(loadConfig({}).api.port).toBe(8800);
      } finally {
        if (before === undefined) delete process.env.BOARDS_API_PORT;
        else process.env.BOARDS_API_PORT = before;
      }
    });
  });

  describe('example placeholders are refused in production', () => {
    it.each([
      ['BOARDS_JWT_SECRET', 'CHANGE_ME_TO_AT_LEAST_32_RANDOM_BYTES_0000000000'],
      ['BOARDS_JWT_SECRET', 'AT_LEAST_32_BYTES_OF_RANDOM_SECRET_MATERIAL'],
      ['BOARDS_METRICS_TOKEN', 'CHANGE_ME_METRICS_SCRAPE_TOKEN'],
      ['BOARDS_METRICS_TOKEN', 'A_LONG_RANDOM_TOKEN'],
      ['BOARDS_DATABASE_URL', 'postgresql://boards_app:CHANGE_ME_RUNTIME_PASSWORD@db:5432/boards'],
      ['BOARDS_DATABASE_URL', 'postgresql://boards_app:RUNTIME_PASSWORD@db:5432/boards'],
      ['BOARDS_DATABASE_OWNER_URL', 'postgresql://boards_owner:boards_owner_dev@db:5432/boards'],
      ['BOARDS_REDIS_URL', 'redis://:change_me@redis:6379'],
      ['BOARDS_JWT_SECRET', 'change-me-please-to-at-least-32-random-bytes'],
      ['BOARDS_METRICS_TOKEN', 'a_long_random_token'],
      ['BOARDS_DATABASE_URL', 'postgresql://boards_app@db:5432/boards?password=RUNTIME_PASSWORD'],
      ['BOARDS_DATABASE_URL', 'postgresql://boards_app:Password@db:5432/boards'],
    ])('%s=%s', (name, value) => {
      const error = expectRefused({ ...PRODUCTION, [name]: value }, name, /example placeholder/);
      expect(error.message).not.toContain(value);
    });

    it('real-looking values pass, and development keeps its examples', () => {
      expect(
        loadConfig({
          ...PRODUCTION,
          BOARDS_METRICS_TOKEN: 'r4nd0m-scrape-token-value',
          BOARDS_DATABASE_URL: 'postgresql://boards_app:s3cr3t-Xy9@db:5432/boards',
          // "changeme" inside a longer word is not the placeholder.
          BOARDS_JWT_SECRET: 'exchangemessages-8f1d2c9a7b3e4f5a6c7d8e9f0a1b2c3d',
        }).isProduction,
      ).toBe(true);
      expect(
        loadConfig({ BOARDS_JWT_SECRET: 'CHANGE_ME', BOARDS_AUTH_PROVIDER: 'jwt' }).auth.jwt.secret,
      ).toBe('CHANGE_ME');
    });
  });

  describe('admission settings', () => {
    it('reserves default in multi-tenant mode, and the slugs of BOARDS_RESERVED_SLUGS', () => {
      const config = loadConfig({
        BOARDS_MULTI_TENANT_MODE: 'true',
        BOARDS_RESERVED_SLUGS: 'acme, beta',
      });
      for (const slug of ['default', 'acme', 'beta', 'admin', 'api', 'www', 'setup'])
        expect(config.tenancy.reservedSlugs.has(slug)).toBe(true);
      expect(config.tenancy.reservedSlugs.has('globex')).toBe(false);
    });

    it('refuses a reserved slug that is not a slug', () => {
      expectRefused(
        { BOARDS_RESERVED_SLUGS: 'ok,Not A Slug' },
        'BOARDS_RESERVED_SLUGS',
        /"Not A Slug"/,
      );
    });

    it('reads the quarantine and invitation periods within their ranges', () => {
      const config = loadConfig({
        BOARDS_DELETED_SLUG_QUARANTINE_DAYS: '0',
        BOARDS_INVITATION_TTL_DAYS: '14',
      });
      expect(config.tenancy.deletedSlugQuarantineDays).toBe(0);
      expect(config.tenancy.invitationTtlDays).toBe(14);
      expectRefused(
        { BOARDS_DELETED_SLUG_QUARANTINE_DAYS: '-1' },
        'BOARDS_DELETED_SLUG_QUARANTINE_DAYS',
      );
      expectRefused({ BOARDS_INVITATION_TTL_DAYS: '0' }, 'BOARDS_INVITATION_TTL_DAYS');
    });

    it('names the tenant claim tenant unless configured', () => {
      expect(loadConfig({}).auth.jwt.tenantClaim).toBe('tenant');
      expect(loadConfig({ BOARDS_JWT_TENANT_CLAIM: 'org' }).auth.jwt.tenantClaim).toBe('org');
    });
  });

  describe('booleans', () => {
    it.each(['true', 'TRUE', '1', 'yes', 'on', ' On '])('reads %p as true', (value) => {
      expect(loadConfig({ BOARDS_MULTI_TENANT_MODE: value }).tenancy.multiTenantMode).toBe(true);
    });

    it.each(['false', 'False', '0', 'no', 'off'])('reads %p as false', (value) => {
      expect(loadConfig({ BOARDS_ENABLE_AUDIT_LOGGING: value }).observability.auditLogging).toBe(
        false,
      );
    });

    it('turns prepared statements off with BOARDS_DATABASE_PREPARED_STATEMENTS=false', () => {
      const off = loadConfig({ BOARDS_DATABASE_PREPARED_STATEMENTS: 'false' });
      expect(off.database.preparedStatements).toBe(false);
      expectRefused(
        { BOARDS_DATABASE_PREPARED_STATEMENTS: 'sometimes' },
        'BOARDS_DATABASE_PREPARED_STATEMENTS',
        /expected true or false/,
      );
    });

    it.each(['maybe', '2', 'y', 'enabled'])('refuses %p', (value) => {
      expectRefused({ BOARDS_DEBUG: value }, 'BOARDS_DEBUG', /expected true or false/);
    });

    it('turns debug logging on with BOARDS_DEBUG unless a level is given', () => {
      expect(loadConfig({ BOARDS_DEBUG: 'true' }).observability.logLevel).toBe('debug');
      expect(
        loadConfig({ BOARDS_DEBUG: 'true', BOARDS_LOG_LEVEL: 'warn' }).observability.logLevel,
      ).toBe('warn');
    });
  });

  describe('whole numbers with ranges', () => {
    it.each([
      ['BOARDS_API_PORT', '0', (c: BoardsConfig) => c.api.port, 0],
      ['BOARDS_API_PORT', '65535', (c: BoardsConfig) => c.api.port, 65_535],
      ['BOARDS_DATABASE_POOL_SIZE', '1', (c: BoardsConfig) => c.database.poolSize, 1],
      ['BOARDS_DATABASE_POOL_SIZE', '500', (c: BoardsConfig) => c.database.poolSize, 500],
      ['BOARDS_API_BODY_LIMIT_BYTES', '1024', (c: BoardsConfig) => c.api.bodyLimitBytes, 1_024],
      [
        'BOARDS_MAX_TENANTS_PER_USER',
        ' 7 ',
        (c: BoardsConfig) => c.tenancy.registration.maxTenantsPerUser,
        7,
      ],
      [
        'BOARDS_DATABASE_STATEMENT_TIMEOUT_MS',
        '0',
        (c: BoardsConfig) => c.database.statementTimeoutMs,
        0,
      ],
    ])('accepts %s=%p', (name, value, pick, expected) => {
      expect(pick(loadConfig({ [name]: value }))).toBe(expected);
    });

    it.each([
      ['BOARDS_API_PORT', 'abc', /whole number/],
      ['BOARDS_API_PORT', '80.5', /whole number/],
      ['BOARDS_API_PORT', '1e3', /whole number/],
      ['BOARDS_API_PORT', '0x50', /whole number/],
      ['BOARDS_API_PORT', '65536', /between 0 and 65535/],
      ['BOARDS_API_PORT', '-1', /between 0 and 65535/],
      ['BOARDS_DATABASE_POOL_SIZE', '0', /between 1 and 500/],
      ['BOARDS_DATABASE_POOL_SIZE', '501', /between 1 and 500/],
      ['BOARDS_API_WORKERS', '65', /between 1 and 64/],
      ['BOARDS_API_BODY_LIMIT_BYTES', '1023', /between/],
      ['BOARDS_JWT_CLOCK_SKEW_SECONDS', '601', /between 0 and 600/],
      ['BOARDS_JWKS_CACHE_SECONDS', '9', /between 10 and 86400/],
      ['BOARDS_JWKS_COOLDOWN_SECONDS', '0', /between 1 and 3600/],
      ['BOARDS_SHUTDOWN_DRAIN_SECONDS', '301', /between 0 and 300/],
      ['BOARDS_METRICS_TENANT_LABEL_LIMIT', '0', /between/],
      ['BOARDS_MAX_TENANTS_PER_USER', 'three', /whole number/],
    ])('refuses %s=%p', (name, value, problem) => {
      expectRefused({ [name]: value }, name, problem);
    });
  });

  describe('enumerations', () => {
    it('accepts values case-insensitively and stores them lowercased', () => {
      const config = loadConfig({ BOARDS_ENVIRONMENT: 'Staging', BOARDS_LOG_LEVEL: 'WARN' });
      expect(config.environment).toBe('staging');
      expect(config.observability.logLevel).toBe('warn');
    });

    it.each([
      ['BOARDS_ENVIRONMENT', 'prod'],
      ['BOARDS_LOG_LEVEL', 'verbose'],
      ['BOARDS_TENANT_ISOLATION', 'schema'],
    ])('refuses %s=%p and lists the allowed values', (name, value) => {
      const error = expectRefused({ [name]: value }, name, /must be one of/);
      expect(error.problem).toContain(`"${value}"`);
    });

    it('refuses an unknown JWT algorithm and never accepts "none"', () => {
      expectRefused({ BOARDS_JWT_ALGORITHM: 'none' }, 'BOARDS_JWT_ALGORITHM', /never accepted/);
      expectRefused({ BOARDS_JWT_ALGORITHM: 'HS999' }, 'BOARDS_JWT_ALGORITHM', /must be one of/);
      expect(
        loadConfig({ BOARDS_JWT_ALGORITHM: 'es256', BOARDS_JWT_PUBLIC_KEY_URL: 'https://idp/jwks' })
          .auth.jwt.algorithm,
      ).toBe('ES256');
    });
  });

  describe('URLs', () => {
    it.each([
      ['BOARDS_DATABASE_URL', 'postgres://u@h/db'],
      ['BOARDS_DATABASE_URL', 'postgresql://u:p@h:5432/db?sslmode=require'],
      ['BOARDS_REDIS_URL', 'redis://127.0.0.1:6379'],
      ['BOARDS_REDIS_URL', 'rediss://cache:6380/0'],
      ['BOARDS_FRONTEND_BASE_URL', 'https://app.example.com'],
      ['BOARDS_JWT_PUBLIC_KEY_URL', 'http://idp.local/jwks.json'],
    ])('accepts %s=%p', (name, value) => {
      expect(() => loadConfig({ [name]: value })).not.toThrow();
    });

    it.each([
      ['BOARDS_DATABASE_URL', 'mysql://u@h/db', 'mysql'],
      ['BOARDS_REDIS_URL', 'http://127.0.0.1:6379', 'http'],
      ['BOARDS_FRONTEND_BASE_URL', 'ftp://files.example.com', 'ftp'],
      ['BOARDS_JWT_PUBLIC_KEY_URL', 'file:///etc/keys.json', 'file'],
    ])('refuses %s with the wrong scheme (%p)', (name, value, scheme) => {
      expectRefused({ [name]: value }, name, new RegExp(`got scheme "${scheme}"`));
    });

    it.each([
      ['BOARDS_DATABASE_URL', 'localhost/boards'],
      ['BOARDS_REDIS_URL', 'not a url'],
    ])('refuses %s that is not a URL (%p)', (name, value) => {
      expectRefused({ [name]: value }, name, /expected a URL/);
    });

    it('never prints the password of a URL it refuses', () => {
      const invalid = configError({
        BOARDS_DATABASE_URL: 'postgresql://boards:s3cr3t-pw@db host/x',
      });
      expect(invalid.variable).toBe('BOARDS_DATABASE_URL');
      expect(invalid.message).not.toContain('s3cr3t-pw');
      expect(invalid.message).toContain('boards:***@');

      const wrongScheme = configError({ BOARDS_DATABASE_URL: 'mysql://root:s3cr3t-pw@db/x' });
      expect(wrongScheme.message).not.toContain('s3cr3t-pw');
    });

    it.each([
      [
        'a password without a user name (the usual Redis form)',
        'BOARDS_REDIS_URL',
        'redis://:s3cr3t-pw@cache host:6379',
      ],
      [
        'a password containing "@"',
        'BOARDS_DATABASE_URL',
        'postgresql://boards:s3cr3t@pw@db host/x',
      ],
    ])('never prints %s', (_, name, value) => {
      const error = configError({ [name]: value });
      expect(error.variable).toBe(name);
      expect(error.message).not.toContain('s3cr3t');
      expect(error.message).not.toContain('pw@');
    });

    it('falls back to the runtime URL for the owner URL, and needs it for an owner URL', () => {
      expect(loadConfig({ BOARDS_DATABASE_URL: DB_URL }).database.ownerUrl).toBe(DB_URL);
      const owner = 'postgresql://boards_owner@db/boards';
      expect(
        loadConfig({ BOARDS_DATABASE_URL: DB_URL, BOARDS_DATABASE_OWNER_URL: owner }).database
          .ownerUrl,
      ).toBe(owner);
      expectRefused({ BOARDS_DATABASE_OWNER_URL: owner }, 'BOARDS_DATABASE_OWNER_URL');
    });

    it('only uses the embedded database when no URL is given', () => {
      expect(loadConfig({ BOARDS_DATABASE_URL: DB_URL }).usesEmbeddedDatabase).toBe(false);
    });
  });

  describe('comma-separated lists', () => {
    it('trims entries and drops blanks', () => {
      const config = loadConfig({
        BOARDS_PLATFORM_ADMIN_SUBJECTS: ' alice , ,bob,,  ',
        BOARDS_CORS_ORIGINS: 'https://a.example.com, ,http://localhost:3000',
        BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: 'Acme.com, @globex.io ,',
      });
      expect(config.auth.platformAdminSubjects).toEqual(['alice', 'bob']);
      expect(config.api.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
      expect(config.tenancy.registration.allowedDomains).toEqual(['acme.com', 'globex.io']);
    });

    it('gives an empty list for a value of only commas', () => {
      expect(
        loadConfig({ BOARDS_PLATFORM_ADMIN_SUBJECTS: ' , ,' }).auth.platformAdminSubjects,
      ).toEqual([]);
    });

    it('refuses a CORS origin that is not a URL, and "*" in production', () => {
      expectRefused({ BOARDS_CORS_ORIGINS: 'https://ok.example.com,app' }, 'BOARDS_CORS_ORIGINS');
      expect(loadConfig({ BOARDS_CORS_ORIGINS: '*' }).api.corsOrigins).toEqual(['*']);
      expectRefused(
        { ...PRODUCTION, BOARDS_CORS_ORIGINS: '*' },
        'BOARDS_CORS_ORIGINS',
        /production/,
      );
    });

    it('refuses an allowed registration domain that is not a domain', () => {
      expectRefused(
        { BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: 'acme.com,localhost' },
        'BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS',
        /"localhost"/,
      );
    });

    it('reads several OIDC issuers and checks each', () => {
      const config = loadConfig({
        BOARDS_AUTH_PROVIDER: 'oidc',
        BOARDS_OIDC_ISSUER: 'https://a.example.com, https://b.example.com',
        BOARDS_OIDC_CLIENT_ID: 'boards',
      });
      expect(config.auth.oidc.issuers).toEqual(['https://a.example.com', 'https://b.example.com']);
      expectRefused(
        {
          BOARDS_AUTH_PROVIDER: 'oidc',
          BOARDS_OIDC_ISSUER: 'https://a.example.com,ldap://b',
          BOARDS_OIDC_CLIENT_ID: 'boards',
        },
        'BOARDS_OIDC_ISSUER',
        /scheme "ldap"/,
      );
    });
  });

  describe('auth providers', () => {
    const jwt = { BOARDS_JWT_SECRET: 'dev-secret' };
    const oidc = {
      BOARDS_OIDC_ISSUER: 'https://idp.example.com',
      BOARDS_OIDC_CLIENT_ID: 'boards-web',
    };

    it('reads a chain in order, case-insensitively', () => {
      const config = loadConfig({ BOARDS_AUTH_PROVIDER: 'JWT, oidc', ...jwt, ...oidc });
      expect(config.auth.providers).toEqual(['jwt', 'oidc']);
    });

    it('refuses an unknown provider', () => {
      expectRefused({ BOARDS_AUTH_PROVIDER: 'jwt,saml', ...jwt }, 'BOARDS_AUTH_PROVIDER', /"saml"/);
    });

    it('does not combine "none" with other providers', () => {
      expectRefused(
        { BOARDS_AUTH_PROVIDER: 'none,jwt', ...jwt },
        'BOARDS_AUTH_PROVIDER',
        /cannot be combined/,
      );
    });

    it('requires a secret for jwt with an HS algorithm', () => {
      expectRefused({ BOARDS_AUTH_PROVIDER: 'jwt' }, 'BOARDS_JWT_SECRET', /HS256/);
      expectRefused(
        { BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_ALGORITHM: 'HS512' },
        'BOARDS_JWT_SECRET',
        /HS512/,
      );
      expect(loadConfig({ BOARDS_AUTH_PROVIDER: 'jwt', ...jwt }).auth.jwt).toMatchObject({
        secret: 'dev-secret',
        algorithm: 'HS256',
      });
    });

    it('requires a public key or a JWKS URL for RS256', () => {
      expectRefused(
        { BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_ALGORITHM: 'RS256' },
        'BOARDS_JWT_PUBLIC_KEY',
        /BOARDS_JWT_PUBLIC_KEY_URL/,
      );
      const byUrl = loadConfig({
        BOARDS_AUTH_PROVIDER: 'jwt',
        BOARDS_JWT_ALGORITHM: 'RS256',
        BOARDS_JWT_PUBLIC_KEY_URL: 'https://idp.example.com/.well-known/jwks.json',
      });
      expect(byUrl.auth.jwt.algorithm).toBe('RS256');
      const byKey = loadConfig({
        BOARDS_AUTH_PROVIDER: 'jwt',
        BOARDS_JWT_ALGORITHM: 'RS256',
        BOARDS_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
      });
      expect(byKey.auth.jwt.publicKey).toContain('BEGIN PUBLIC KEY');
    });

    it('defaults to RS256 when only a public key or JWKS URL is given', () => {
      const config = loadConfig({
        BOARDS_AUTH_PROVIDER: 'jwt',
        BOARDS_JWT_PUBLIC_KEY_URL: 'https://idp.example.com/jwks',
      });
      expect(config.auth.jwt.algorithm).toBe('RS256');
    });

    it('requires an issuer and a client id for oidc; the audience defaults to the client id', () => {
      expectRefused(
        { BOARDS_AUTH_PROVIDER: 'oidc', BOARDS_OIDC_CLIENT_ID: 'boards-web' },
        'BOARDS_OIDC_ISSUER',
      );
      expectRefused(
        { BOARDS_AUTH_PROVIDER: 'oidc', BOARDS_OIDC_ISSUER: 'https://idp.example.com' },
        'BOARDS_OIDC_CLIENT_ID',
      );
      expect(loadConfig({ BOARDS_AUTH_PROVIDER: 'oidc', ...oidc }).auth.oidc.audience).toBe(
        'boards-web',
      );
      expect(
        loadConfig({ BOARDS_AUTH_PROVIDER: 'oidc', ...oidc, BOARDS_OIDC_AUDIENCE: 'api://boards' })
          .auth.oidc.audience,
      ).toBe('api://boards');
    });

    it('checks both providers of a chain', () => {
      expectRefused({ BOARDS_AUTH_PROVIDER: 'jwt,oidc', ...oidc }, 'BOARDS_JWT_SECRET');
      expect(configError({ BOARDS_AUTH_PROVIDER: 'jwt,oidc', ...jwt }).problems).toEqual([
        'BOARDS_OIDC_ISSUER: is required for BOARDS_AUTH_PROVIDER=oidc',
        'BOARDS_OIDC_CLIENT_ID: is required for BOARDS_AUTH_PROVIDER=oidc',
      ]);
    });
  });

  describe('production guards', () => {
    it('accepts the minimal production environment', () => {
      const config = loadConfig(PRODUCTION);
      expect(config.isProduction).toBe(true);
      expect(config.database.autoMigrate).toBe(false);
      expect(config.usesEmbeddedDatabase).toBe(false);
    });

    it('refuses auth provider none', () => {
      expectRefused(
        { ...PRODUCTION, BOARDS_AUTH_PROVIDER: 'none' },
        'BOARDS_AUTH_PROVIDER',
        /production/,
      );
      const unset: Env = { ...PRODUCTION, BOARDS_AUTH_PROVIDER: undefined };
      expectRefused(unset, 'BOARDS_AUTH_PROVIDER');
    });

    it('refuses a JWT secret shorter than 32 bytes, counting bytes rather than characters', () => {
      expectRefused(
        { ...PRODUCTION, BOARDS_JWT_SECRET: '0123456789' },
        'BOARDS_JWT_SECRET',
        /32 bytes/,
      );
      expectRefused({ ...PRODUCTION, BOARDS_JWT_SECRET: 'k'.repeat(31) }, 'BOARDS_JWT_SECRET');
      // 16 two-byte characters are 32 bytes.
      expect(loadConfig({ ...PRODUCTION, BOARDS_JWT_SECRET: 'é'.repeat(16) }).auth.jwt.secret).toBe(
        'é'.repeat(16),
      );
      // Outside production a short secret is fine (development tokens).
      expect(() =>
        loadConfig({ BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_SECRET: 'dev' }),
      ).not.toThrow();
    });

    it('refuses the embedded database', () => {
      expectRefused(
        { ...PRODUCTION, BOARDS_DATABASE_URL: undefined },
        'BOARDS_DATABASE_URL',
        /embedded database is for development/,
      );
    });

    it('requires https OIDC issuers', () => {
      const oidc: Env = {
        ...PRODUCTION,
        BOARDS_AUTH_PROVIDER: 'oidc',
        BOARDS_OIDC_CLIENT_ID: 'boards',
      };
      expectRefused({ ...oidc, BOARDS_OIDC_ISSUER: 'http://idp.internal' }, 'BOARDS_OIDC_ISSUER');
      expect(() =>
        loadConfig({ ...oidc, BOARDS_OIDC_ISSUER: 'https://idp.internal' }),
      ).not.toThrow();
    });

    it('requires HTTPS by default, and can be told not to', () => {
      expect(loadConfig(PRODUCTION).api.requireHttps).toBe(true);
      expect(loadConfig({ ...PRODUCTION, BOARDS_REQUIRE_HTTPS: 'false' }).api.requireHttps).toBe(
        false,
      );
      expect(
        loadConfig({ BOARDS_REQUIRE_HTTPS: 'true', BOARDS_TRUST_PROXY: '127.0.0.1' }).api
          .requireHttps,
      ).toBe(true);
    });

    it('turns auto-migration off by default but allows it explicitly', () => {
      expect(
        loadConfig({ ...PRODUCTION, BOARDS_DATABASE_AUTO_MIGRATE: 'true' }).database.autoMigrate,
      ).toBe(true);
    });

    it('requires a metrics token unless /metrics is made public on purpose', () => {
      const noToken: Env = { ...PRODUCTION, BOARDS_METRICS_TOKEN: undefined };
      const error = expectRefused(noToken, 'BOARDS_METRICS_TOKEN', /production/);
      expect(error.problem).toContain('BOARDS_METRICS_PUBLIC=true');
      expectRefused({ ...noToken, BOARDS_METRICS_PUBLIC: 'false' }, 'BOARDS_METRICS_TOKEN');
      expectRefused({ ...noToken, BOARDS_METRICS_TOKEN: '  ' }, 'BOARDS_METRICS_TOKEN');

      expect(loadConfig(PRODUCTION).observability).toMatchObject({
        metricsToken: METRICS_TOKEN,
        metricsPublic: false,
      });
      expect(loadConfig({ ...noToken, BOARDS_METRICS_PUBLIC: 'true' }).observability).toMatchObject(
        { metricsToken: undefined, metricsPublic: true },
      );
      // Outside production the token stays optional (enforced only when set).
      expect(loadConfig({}).observability.metricsToken).toBeUndefined();
      expect(
        loadConfig({ BOARDS_ENVIRONMENT: 'staging' }).observability.metricsToken,
      ).toBeUndefined();
    });

    it('refuses a placeholder metrics token, and a BOARDS_METRICS_PUBLIC that is no boolean', () => {
      expectRefused(
        { ...PRODUCTION, BOARDS_METRICS_TOKEN: 'CHANGE_ME' },
        'BOARDS_METRICS_TOKEN',
        /example placeholder/,
      );
      expectRefused({ ...PRODUCTION, BOARDS_METRICS_PUBLIC: 'maybe' }, 'BOARDS_METRICS_PUBLIC');
    });
  });

  describe('health caching and the readiness refresh', () => {
    it('reads both periods within their ranges', () => {
      const config = loadConfig({
        BOARDS_HEALTH_CACHE_MS: '0',
        BOARDS_READINESS_REFRESH_MS: '250',
      });
      expect(config.observability.healthCacheMs).toBe(0);
      expect(config.observability.readinessRefreshMs).toBe(250);
      expectRefused({ BOARDS_HEALTH_CACHE_MS: '60001' }, 'BOARDS_HEALTH_CACHE_MS', /between 0/);
      expectRefused({ BOARDS_HEALTH_CACHE_MS: '-1' }, 'BOARDS_HEALTH_CACHE_MS');
      expectRefused(
        { BOARDS_READINESS_REFRESH_MS: '99' },
        'BOARDS_READINESS_REFRESH_MS',
        /between 100 and 60000/,
      );
      expectRefused({ BOARDS_READINESS_REFRESH_MS: '1s' }, 'BOARDS_READINESS_REFRESH_MS');
    });
  });

  describe('workers', () => {
    it('allows several workers only with a PostgreSQL URL', () => {
      expectRefused({ BOARDS_API_WORKERS: '2' }, 'BOARDS_API_WORKERS', /BOARDS_DATABASE_URL/);
      expect(loadConfig({ BOARDS_API_WORKERS: '4', BOARDS_DATABASE_URL: DB_URL }).api.workers).toBe(
        4,
      );
    });
  });

  describe('tenancy', () => {
    it.each(['acme', 'acme-corp', 'a1'])('accepts the default tenant slug %p', (slug) => {
      expect(loadConfig({ BOARDS_TENANT_SLUG: slug }).tenancy.defaultTenantSlug).toBe(slug);
    });

    it.each(['Bad_Slug', '-acme', 'acme-', 'a'.repeat(51), 'acme corp'])(
      'refuses the default tenant slug %p',
      (slug) => {
        expectRefused({ BOARDS_TENANT_SLUG: slug }, 'BOARDS_TENANT_SLUG', /not a valid slug/);
      },
    );

    it('limits the default tenant name to 255 characters', () => {
      expect(
        loadConfig({ BOARDS_TENANT_NAME: 'n'.repeat(255) }).tenancy.defaultTenantName,
      ).toHaveLength(255);
      expectRefused({ BOARDS_TENANT_NAME: 'n'.repeat(256) }, 'BOARDS_TENANT_NAME');
    });

    it('reads BOARDS_HEALTH_PORT (unset: none), refused with more than one worker', () => {
      expect(loadConfig({}).api.healthPort).toBeUndefined();
      expect(loadConfig({ BOARDS_HEALTH_PORT: '8801' }).api.healthPort).toBe(8801);
      expectRefused({ BOARDS_HEALTH_PORT: '70000' }, 'BOARDS_HEALTH_PORT');
      expectRefused(
        {
          BOARDS_HEALTH_PORT: '8801',
          BOARDS_API_WORKERS: '2',
          BOARDS_DATABASE_URL: 'postgresql://boards_app:pw@db:5432/boards',
        },
        'BOARDS_HEALTH_PORT',
        /needs BOARDS_API_WORKERS=1/,
      );
    });

    it('reads database-per-tenant isolation: templates, data-source cache, connection budget', () => {
      const server = { BOARDS_DATABASE_URL: 'postgresql://boards_app:pw@db:5432/boards' };
      const config = loadConfig({
        ...server,
        BOARDS_TENANT_ISOLATION: 'database',
        BOARDS_TENANT_DATABASE_URL_TEMPLATE: 'postgresql://boards_app:pw@db:5432/tenant_{slug}',
        BOARDS_TENANT_DATASOURCE_CACHE_SIZE: '20',
        BOARDS_TENANT_CONNECTION_BUDGET: '40',
      });
      expect(config.tenancy).toMatchObject({
        isolation: 'database',
        tenantDatabaseUrlTemplate: 'postgresql://boards_app:pw@db:5432/tenant_{slug}',
        // The owner template defaults to the runtime one.
        tenantDatabaseOwnerUrlTemplate: 'postgresql://boards_app:pw@db:5432/tenant_{slug}',
        tenantDataSourceCacheSize: 20,
        tenantConnectionBudget: 40,
      });
      expect(configError({ ...server, BOARDS_TENANT_ISOLATION: 'database' }).problems).toEqual([
        expect.stringMatching(/^BOARDS_TENANT_DATABASE_URL_TEMPLATE: is required/),
      ]);
      // The embedded database is one database: no room for one per tenant.
      expectRefused(
        {
          BOARDS_TENANT_ISOLATION: 'database',
          BOARDS_TENANT_DATABASE_URL_TEMPLATE: 'postgresql://boards:pw@db:5432/tenant_{slug}',
        },
        'BOARDS_TENANT_ISOLATION',
        /needs BOARDS_DATABASE_URL/,
      );
      // Owner and runtime reach the same database; only the credentials differ.
      expectRefused(
        {
          ...server,
          BOARDS_TENANT_ISOLATION: 'database',
          BOARDS_TENANT_DATABASE_URL_TEMPLATE: 'postgresql://boards_app:pw@db:5432/tenant_{slug}',
          BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE: 'postgresql://owner:pw@db:5432/t_{id}',
        },
        'BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE',
        /same server and database/,
      );
      expectRefused(
        { ...server, BOARDS_TENANT_CONNECTION_BUDGET: '0' },
        'BOARDS_TENANT_CONNECTION_BUDGET',
      );
    });

    it.each([
      [
        '{slug} only in the query',
        'postgresql://boards:pw@db/tenants?application_name={slug}',
        true,
      ],
      ['{slug} only in the user name', 'postgresql://{slug}:pw@db/tenants', true],
      ['{id} in the database name', 'postgresql://boards:pw@db/tenant_{id}', false],
      ['{slug} in the database name', 'postgresql://boards:pw@db/tenant_{slug}', false],
    ])(
      'a database URL template with %s: one database per tenant or refused',
      (_, template, shared) => {
        const problems = configError({
          BOARDS_TENANT_ISOLATION: 'database',
          BOARDS_TENANT_DATABASE_URL_TEMPLATE: template,
        }).problems;
        const templateProblem = problems.find((line) =>
          line.startsWith('BOARDS_TENANT_DATABASE_URL_TEMPLATE:'),
        );
        if (shared) expect(templateProblem).toMatch(/database name \(the URL path\)/);
        else expect(templateProblem).toBeUndefined();
      },
    );

    it.each(['Boards', 'boards-app', 'pg_1; DROP', '1role'])(
      'refuses the runtime role name %p',
      (role) => {
        expectRefused({ BOARDS_DATABASE_RUNTIME_ROLE: role }, 'BOARDS_DATABASE_RUNTIME_ROLE');
      },
    );

    it('reads multi-tenant registration settings', () => {
      const config = loadConfig({
        BOARDS_MULTI_TENANT_MODE: 'true',
        BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: 'yes',
        BOARDS_MAX_TENANTS_PER_USER: '5',
      });
      expect(config.tenancy.multiTenantMode).toBe(true);
      expect(config.tenancy.registration).toEqual({
        requiresApproval: true,
        allowedDomains: [],
        maxTenantsPerUser: 5,
      });
    });
  });

  describe('unknown variables', () => {
    it('warns about an unknown BOARDS_ name and ignores other variables', () => {
      const config = loadConfig({ BOARDS_API_PROT: '9000', PATH: '/usr/bin', HOME: '/root' });
      expect(config.warnings).toEqual([
        'BOARDS_API_PROT is not a known setting and is ignored (check the spelling)',
      ]);
      expect(config.api.port).toBe(8800);
    });
  });
});

describe('BOARDS_TRUST_PROXY', () => {
  const production = {
    BOARDS_ENVIRONMENT: 'production',
    BOARDS_AUTH_PROVIDER: 'jwt',
    BOARDS_JWT_SECRET: 'x'.repeat(40),
    BOARDS_DATABASE_URL: 'postgresql://app@db/boards',
    BOARDS_METRICS_PUBLIC: 'true',
    // Trusting no proxy is only possible where HTTPS is not required (see below).
    BOARDS_REQUIRE_HTTPS: 'false',
  };

  it.each([
    [{}, false],
    [production, false],
    [{ BOARDS_ENVIRONMENT: 'staging' }, false],
    [{ BOARDS_ENVIRONMENT: 'test' }, false],
    [{ ...production, BOARDS_TRUST_PROXY: 'false' }, false],
    [{ BOARDS_TRUST_PROXY: 'true' }, true],
    [{ BOARDS_ENVIRONMENT: 'staging', BOARDS_TRUST_PROXY: 'TRUE' }, true],
    [{ BOARDS_TRUST_PROXY: '2' }, 2],
    [{ ...production, BOARDS_TRUST_PROXY: '1' }, 1],
    [{ BOARDS_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7' }, ['10.0.0.0/8', '192.168.1.7']],
    [
      {
        ...production,
        BOARDS_TRUST_PROXY: '127.0.0.1,10.0.0.0/8,::1,fd00::/8,::ffff:10.0.0.0/104',
      },
      ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '::ffff:10.0.0.0/104'],
    ],
  ])('%j → %j (off unless set)', (env, expected) => {
    expect(loadConfig(env).api.trustProxy).toEqual(expected);
  });

  it.each(['true', 'True', ' TRUE '])(
    'refuses %p in production, pointing at the ingress',
    (value) => {
      const error = configError({ ...production, BOARDS_TRUST_PROXY: value });
      expect(error.variable).toBe('BOARDS_TRUST_PROXY');
      expect(error.message).not.toContain('\n');
      expect(error.problem).toMatch(/any client set its address/);
      expect(error.problem).toMatch(/list your ingress's addresses\/CIDRs/);
    },
  );

  it.each([
    'ingress.local',
    'loopback',
    '300.1.1.1',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/255.0.0.0',
    '10.0.0.0/8; 1.2.3.4',
    '-1',
  ])('refuses %p (neither a boolean, a count nor addresses/CIDRs)', (value) => {
    const error = configError({ BOARDS_TRUST_PROXY: `127.0.0.1, ${value}` });
    expect(error.variable).toBe('BOARDS_TRUST_PROXY');
    expect(error.problem).toMatch(/is not true, false, a hop count, or an address\/CIDR/);
  });

  it('hands Fastify a list it honours: the rightmost hop that is not trusted is the client', async () => {
    const clientIp = async (trust: string, forwardedFor: string, remoteAddress = '127.0.0.1') => {
      const app = Fastify({ trustProxy: loadConfig({ BOARDS_TRUST_PROXY: trust }).api.trustProxy });
      app.get('/', (request) => ({ ip: request.ip }));
      const reply = await app.inject({
        url: '/',
        remoteAddress,
        headers: { 'x-forwarded-for': forwardedFor },
      });
      await app.close();
      return (reply.json() as { ip: string }).ip;
    };
    const chain = '6.6.6.6, 10.1.2.3';
    expect(await clientIp('127.0.0.1,10.0.0.0/8', chain)).toBe('6.6.6.6');
    expect(await clientIp('127.0.0.1', chain)).toBe('10.1.2.3');
    expect(await clientIp('false', chain)).toBe('127.0.0.1');
    expect(await clientIp('10.0.0.0/8', chain)).toBe('127.0.0.1');
    expect(await clientIp('1', chain)).toBe('10.1.2.3');
    expect(await clientIp('::1', '6.6.6.6', '::1')).toBe('6.6.6.6');
    expect(await clientIp('10.0.0.0/8', '6.6.6.6', '::ffff:10.9.9.9')).toBe('6.6.6.6');
  });

  it('refuses to require HTTPS while trusting no proxy (every API request would be refused)', () => {
    const { BOARDS_REQUIRE_HTTPS: _off, ...withHttps } = production;
    for (const env of [
      withHttps,
      { ...withHttps, BOARDS_TRUST_PROXY: 'false' },
      { BOARDS_REQUIRE_HTTPS: 'true', BOARDS_TRUST_PROXY: '0' },
      { BOARDS_REQUIRE_HTTPS: 'true' },
    ]) {
      const error = configError(env);
      expect(error.variable).toBe('BOARDS_TRUST_PROXY');
      expect(error.message).toMatch(/TLS-terminating proxy's addresses\/CIDRs/);
    }
    expect(loadConfig({ ...withHttps, BOARDS_TRUST_PROXY: '10.0.0.0/8' }).api.requireHttps).toBe(
      true,
    );
    expect(loadConfig(production).warnings).toEqual([]);
    expect(loadConfig({}).warnings).toEqual([]);
  });
});

describe('verified-token cache bounds', () => {
  it('reads BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES and _MAX_BYTES', () => {
    expect(
      loadConfig({
        BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES: '1000',
        BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES: '8388608',
      }).auth.tokenCache,
    ).toEqual({ maxEntries: 1_000, maxBytes: 8_388_608 });
  });

  it.each([
    ['BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES', '0', /between 1 and 10000000/],
    ['BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES', 'lots', /whole number/],
    ['BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES', '1048575', /between 1048576 and/],
    ['BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES', '32MiB', /whole number/],
  ])('refuses %s=%p', (variable, value, problem) => {
    expectRefused({ [variable]: value }, variable, problem);
  });
});

describe('every configuration problem at once', () => {
  it('reports each bad variable on its own line, in the order they are checked', () => {
    const env: Env = {
      BOARDS_API_PORT: 'abc',
      BOARDS_DEBUG: 'maybe',
      BOARDS_LOG_LEVEL: 'verbose',
      BOARDS_DATABASE_URL: 'mysql://u@h/db',
      BOARDS_TENANT_SLUG: 'Bad_Slug',
      BOARDS_CORS_ORIGINS: 'app,https://ok.example.com,web',
    };
    const error = configError(env);
    expect(error.problems).toEqual([
      'BOARDS_DEBUG: expected true or false, got "maybe"',
      'BOARDS_TENANT_SLUG: "Bad_Slug" is not a valid slug (lowercase letters, digits and inner hyphens, at most 50)',
      'BOARDS_DATABASE_URL: expected a postgres or postgresql URL, got scheme "mysql"',
      'BOARDS_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      'BOARDS_CORS_ORIGINS: "app" is not an origin such as https://app.example.com',
      'BOARDS_CORS_ORIGINS: "web" is not an origin such as https://app.example.com',
      'BOARDS_API_PORT: expected a whole number, got "abc"',
    ]);
    expect(error.message).toBe(error.problems.join('\n'));
    expect([error.variable, error.problem]).toEqual([
      'BOARDS_DEBUG',
      'expected true or false, got "maybe"',
    ]);
    // The order is the order of the checks, not of the environment.
    const reversed = Object.fromEntries(Object.entries(env).reverse());
    expect(configError(reversed).problems).toEqual(error.problems);
  });

  it('reports the checks across settings together with the bad values', () => {
    expect(
      configError({ BOARDS_ENVIRONMENT: 'production', BOARDS_API_WORKERS: '0' }).problems,
    ).toEqual([
      expect.stringMatching(/^BOARDS_AUTH_PROVIDER: "none" is refused/),
      expect.stringMatching(/^BOARDS_DATABASE_URL: is required when BOARDS_ENVIRONMENT=production/),
      'BOARDS_API_WORKERS: must be between 1 and 64, got 0',
      expect.stringMatching(/^BOARDS_METRICS_TOKEN: is required/),
      expect.stringMatching(/^BOARDS_TRUST_PROXY: must list the TLS-terminating proxy's/),
    ]);
  });

  it.each<[string, Env, string]>([
    [
      'an unknown environment skips the production checks',
      { BOARDS_ENVIRONMENT: 'prod' },
      'BOARDS_ENVIRONMENT',
    ],
    [
      'a bad database URL is not also missing (production, workers, owner URL)',
      {
        ...PRODUCTION,
        BOARDS_DATABASE_URL: 'mysql://u@h/db',
        BOARDS_DATABASE_OWNER_URL: 'postgresql://owner@db/boards',
        BOARDS_API_WORKERS: '2',
      },
      'BOARDS_DATABASE_URL',
    ],
    [
      'an unknown provider is not refused as "none" in production',
      { ...PRODUCTION, BOARDS_AUTH_PROVIDER: 'saml' },
      'BOARDS_AUTH_PROVIDER',
    ],
    [
      'a bad JWT algorithm does not ask for a secret',
      { BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_ALGORITHM: 'none' },
      'BOARDS_JWT_ALGORITHM',
    ],
    [
      'a bad JWKS URL does not ask for a key',
      { BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_PUBLIC_KEY_URL: 'file:///keys.json' },
      'BOARDS_JWT_PUBLIC_KEY_URL',
    ],
    [
      'a bad OIDC issuer is not also missing',
      {
        BOARDS_AUTH_PROVIDER: 'oidc',
        BOARDS_OIDC_ISSUER: 'ldap://idp',
        BOARDS_OIDC_CLIENT_ID: 'b',
      },
      'BOARDS_OIDC_ISSUER',
    ],
    [
      'a bad BOARDS_METRICS_PUBLIC does not ask for a token',
      { ...PRODUCTION, BOARDS_METRICS_TOKEN: undefined, BOARDS_METRICS_PUBLIC: 'maybe' },
      'BOARDS_METRICS_PUBLIC',
    ],
    [
      'a bad BOARDS_REQUIRE_HTTPS does not ask for a proxy',
      { ...PRODUCTION, BOARDS_TRUST_PROXY: undefined, BOARDS_REQUIRE_HTTPS: 'maybe' },
      'BOARDS_REQUIRE_HTTPS',
    ],
    [
      'a bad BOARDS_TRUST_PROXY is not also missing',
      { ...PRODUCTION, BOARDS_TRUST_PROXY: 'ingress.local' },
      'BOARDS_TRUST_PROXY',
    ],
    [
      'a short secret is not also a placeholder',
      { ...PRODUCTION, BOARDS_JWT_SECRET: 'CHANGE_ME' },
      'BOARDS_JWT_SECRET',
    ],
  ])('no follow-on problem: %s', (_, env, variable) => {
    expect(configError(env).problems).toEqual([expect.stringMatching(`^${variable}: `)]);
  });

  it('keeps each problem on one line even when the value holds a line break', () => {
    const error = configError({ BOARDS_API_PORT: '80\n81' });
    expect(error.problems).toEqual(['BOARDS_API_PORT: expected a whole number, got "80\\n81"']);
    expect(error.message).not.toContain('\n');
  });
});
