import { isQualifiedEntry, oidcProviderName } from 'src/common/identity-namespace';
import { isIP } from 'node:net';
import { isValidSlug } from 'src/common/slug';
import {
  AUTH_PROVIDERS,
  CONFIG_VARIABLES,
  ENVIRONMENTS,
  ISOLATION_STRATEGIES,
  JWT_ALGORITHMS,
  LOG_LEVELS,
  variableEntries,
  type VariableName,
} from './config-variables';
import { checkTenantDatabaseTemplate } from 'src/core/database/tenant-database-url';
import { EnvReader, type Env } from './env-parsers';
import { VariableReader } from './variable-reader';

export { AUTH_PROVIDERS, ENVIRONMENTS, ISOLATION_STRATEGIES, JWT_ALGORITHMS, LOG_LEVELS };

export type Environment = (typeof ENVIRONMENTS)[number];
export type AuthProviderName = (typeof AUTH_PROVIDERS)[number];
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type IsolationStrategy = (typeof ISOLATION_STRATEGIES)[number];

export interface DatabaseConfig {
  /** Runtime connection (plain role, no BYPASSRLS). Undefined means the embedded database. */
  readonly url: string | undefined;
  /** Owner connection for migrations and owner-level CLI commands. */
  readonly ownerUrl: string | undefined;
  readonly poolSize: number;
  readonly runtimeRole: string;
  readonly autoMigrate: boolean;
  readonly embeddedDataDir: string;
  readonly statementTimeoutMs: number;
  /**
   * How long a request waits for a database connection (a new one, or a free one of the pool)
   * before it is answered 503: an unreachable database never holds a request longer than this.
   */
  readonly connectTimeoutMs: number;
  /**
   * Whether the one-round-trip reads run as named prepared statements (parsed and planned once per
   * connection). Off for a transaction-mode pooler that cannot carry them.
   */
  readonly preparedStatements: boolean;
  /**
   * Statement timeouts per route class, set in each tenant transaction (the connection's own
   * statementTimeoutMs applies elsewhere). 0: no limit.
   */
  readonly statementTimeouts: StatementTimeouts;
  /** The share of the pool one tenant may hold at once, in percent (at least one connection). */
  readonly tenantPoolPercent: number;
  /** The share of the pool one tenant's searches may hold at once, in percent (at least one). */
  readonly tenantSearchPercent: number;
  /** How long a tenant's request waits for its share to free up before it is answered 429. */
  readonly tenantQueueMs: number;
  /** Database time a tenant's searches may spend per second, per process (and at once). */
  readonly searchMsPerSecond: number;
  readonly searchBurstMs: number;
}

export const ROUTE_CLASSES = ['read', 'write', 'search', 'admin'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];
export type StatementTimeouts = Readonly<Record<RouteClass, number>>;

/** Per-tenant quotas (defaults; a platform admin overrides them per tenant). */
export interface QuotaConfig {
  readonly boards: number;
  readonly generations_per_board: number;
  readonly members_per_board: number;
  readonly stored_bytes: number;
}

export interface AuthConfig {
  readonly providers: readonly AuthProviderName[];
  readonly jwt: {
    readonly secret: string | undefined;
    readonly algorithm: JwtAlgorithm;
    readonly publicKey: string | undefined;
    readonly publicKeyUrl: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    /** The one claim that lists a caller's tenants (BOARDS_JWT_TENANT_CLAIM, default `tenant`). */
    readonly tenantClaim: string;
    readonly clockSkewSeconds: number;
  };
  readonly oidc: {
    readonly issuers: readonly string[];
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly audience: string | undefined;
  };
  readonly jwksCacheSeconds: number;
  readonly jwksCooldownSeconds: number;
  readonly platformAdminSubjects: readonly string[];
  readonly platformAdminRole: string | undefined;
  /**
   * Bounds of the verified-token cache: entries, and bytes as estimated per entry (digest of the
   * token plus the principal's claims; see AuthProviderChain).
   */
  readonly tokenCache: { readonly maxEntries: number; readonly maxBytes: number };
}

export interface TenancyConfig {
  readonly multiTenantMode: boolean;
  readonly defaultTenantName: string;
  readonly defaultTenantSlug: string;
  readonly isolation: IsolationStrategy;
  /** The runtime role's URL of a tenant database (`database` isolation; `{slug}`, `{id}`). */
  readonly tenantDatabaseUrlTemplate: string | undefined;
  /** The owner role's URL of a tenant database (creates and migrates it). */
  readonly tenantDatabaseOwnerUrlTemplate: string | undefined;
  /** Most tenant data sources open at once per process (`database` isolation). */
  readonly tenantDataSourceCacheSize: number;
  /** Most tenant database connections per process (`database` isolation). */
  readonly tenantConnectionBudget: number;
  readonly registration: {
    readonly requiresApproval: boolean;
    readonly allowedDomains: readonly string[];
    readonly maxTenantsPerUser: number;
  };
  /** Slugs nobody may register or create (built-in words plus BOARDS_RESERVED_SLUGS). */
  readonly reservedSlugs: ReadonlySet<string>;
  /** Days a deleted tenant's slug stays unavailable (BOARDS_DELETED_SLUG_QUARANTINE_DAYS). */
  readonly deletedSlugQuarantineDays: number;
  /** Days an invitation can be accepted (BOARDS_INVITATION_TTL_DAYS). */
  readonly invitationTtlDays: number;
}

/**
 * Slugs that name parts of the service or are easily mistaken for them; `default` only in
 * multi-tenant mode (in single-tenant mode it is the default tenant's slug).
 */
export const BUILT_IN_RESERVED_SLUGS = [
  'admin',
  'administrator',
  'api',
  'app',
  'assets',
  'auth',
  'billing',
  'dashboard',
  'docs',
  'health',
  'help',
  'internal',
  'login',
  'logout',
  'metrics',
  'oauth',
  'platform',
  'register',
  'root',
  'settings',
  'setup',
  'signin',
  'signup',
  'static',
  'status',
  'support',
  'system',
  'tenant',
  'tenants',
  'www',
] as const;

export interface ApiConfig {
  readonly host: string;
  readonly port: number;
  /** BOARDS_HEALTH_PORT: the probes' own port, served by a thread of their own (unset: none). */
  readonly healthPort: number | undefined;
  readonly workers: number;
  readonly corsOrigins: readonly string[];
  readonly frontendBaseUrl: string | undefined;
  readonly bodyLimitBytes: number;
  readonly shutdownDrainSeconds: number;
  /** Refuse plain-HTTP API requests (behind a proxy: X-Forwarded-Proto). Default on in production. */
  readonly requireHttps: boolean;
  /**
   * Which proxies' X-Forwarded-* headers are believed (client address, protocol): false, true
   * (any; refused in production), a hop count, or a list of addresses/CIDRs. Default: false.
   */
  readonly trustProxy: boolean | number | string[];
  /**
   * Whether @DirectRoute handlers (the hot board reads) skip Nest's router machinery
   * (BOARDS_API_DIRECT_ROUTES; docs/adr/0001-direct-routes.md). Off: every route through Nest.
   */
  readonly directRoutes: boolean;
}

export interface RateLimitConfig {
  readonly enabled: boolean;
  /** Requests per client address per minute, counted before authentication (every outcome). */
  readonly perClientPerMinute: number;
  /** Of those, refusals (401, 403, 404) per client address per minute. */
  readonly refusalsPerClientPerMinute: number;
  readonly perUserPerMinute: number;
  readonly perTenantPerMinute: number;
}

export interface ObservabilityConfig {
  readonly logLevel: LogLevel;
  readonly auditLogging: boolean;
  readonly advancedMetrics: boolean;
  readonly metricsToken: string | undefined;
  /** Production serves /metrics without a token only when this says so (BOARDS_METRICS_PUBLIC). */
  readonly metricsPublic: boolean;
  /** How long a computed /health summary is served before the next is computed. */
  readonly healthCacheMs: number;
  /** How often the background readiness checks run (/health/ready answers from their result). */
  readonly readinessRefreshMs: number;
  readonly metricsTenantLabelLimit: number;
}

/** Every BOARDS_* setting, parsed and validated once at start. Nothing else reads process.env. */
export class BoardsConfig {
  readonly environment: Environment;
  readonly debug: boolean;
  readonly database: DatabaseConfig;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key (cache and rate-limit counters): installations sharing one Redis stay apart. */
  readonly redisKeyPrefix: string;
  readonly auth: AuthConfig;
  readonly tenancy: TenancyConfig;
  readonly api: ApiConfig;
  readonly rateLimits: RateLimitConfig;
  readonly quotas: QuotaConfig;
  /** The most a list page carries in stored bytes of its items before it ends early (at least one item). */
  readonly listPageMaxBytes: number;
  /** Stored bytes one tenant's list pages may carry per second, per process (and at once). */
  readonly listBytesPerSecond: number;
  readonly observability: ObservabilityConfig;
  /** Non-fatal findings (such as unknown BOARDS_* names) to log once at start. */
  readonly warnings: readonly string[];

  readonly #source: Env;

  /** `source`: the BOARDS_* variables the fields were parsed from (loadConfig passes them). */
  constructor(
    fields: Omit<BoardsConfig, 'isProduction' | 'usesEmbeddedDatabase' | 'source'>,
    source: Env,
  ) {
    Object.assign(this, fields);
    this.#source = Object.freeze({ ...source });
  }

  /**
   * The BOARDS_* variables this config was parsed from: ConfigModule hands them to @nestjs/config's
   * validate hook, so each application is validated from its own settings (never process.env).
   * Everything else reads the parsed fields.
   */
  get source(): Env {
    return this.#source;
  }

  get isProduction(): boolean {
    return this.environment === 'production';
  }

  get usesEmbeddedDatabase(): boolean {
    return this.database.url === undefined;
  }
}

/** The variables this service understands (the table's names); any other BOARDS_* name is reported. */
export const KNOWN_VARIABLES: readonly VariableName[] = Object.keys(
  CONFIG_VARIABLES,
) as VariableName[];
const KNOWN: ReadonlySet<string> = new Set(KNOWN_VARIABLES);

/**
 * Parses and validates the environment. Every bad value is recorded and replaced by its default,
 * and parsing goes on; at the end one ConfigError lists every problem (one line each, in the order
 * checked), which the caller prints before exiting 78. A check across settings runs only when the
 * settings it reads are valid, so a bad value is never reported again as a follow-on problem.
 * (An invalid BOARDS_ENVIRONMENT falls back to development, which skips the production checks.)
 */
export function loadConfig(env: Env): BoardsConfig {
  const read = new EnvReader(env);
  // Defaults, bounds and choices come from the table (config-variables.ts).
  const vars = new VariableReader(read);

  const environment = vars.choice('BOARDS_ENVIRONMENT');
  const isProduction = environment === 'production';
  const debug = vars.bool('BOARDS_DEBUG');

  const providers = parseProviders(read, isProduction);

  const jwtSecret = vars.optionalString('BOARDS_JWT_SECRET');
  const jwtPublicKey = vars.optionalString('BOARDS_JWT_PUBLIC_KEY');
  const jwtPublicKeyUrl = vars.url('BOARDS_JWT_PUBLIC_KEY_URL');
  const defaultAlgorithm: JwtAlgorithm =
    jwtSecret || (!jwtPublicKey && !jwtPublicKeyUrl) ? 'HS256' : 'RS256';
  const jwtAlgorithm = parseAlgorithm(read, defaultAlgorithm);
  // (A bad BOARDS_AUTH_PROVIDER falls back to none, so no provider check follows from it.)
  if (
    providers.includes('jwt') &&
    read.valid('BOARDS_JWT_ALGORITHM', 'BOARDS_JWT_PUBLIC_KEY_URL')
  ) {
    if (jwtAlgorithm.startsWith('HS')) {
      if (!jwtSecret) {
        read.report(
          'BOARDS_JWT_SECRET',
          `is required for BOARDS_AUTH_PROVIDER=jwt with ${jwtAlgorithm}`,
        );
      }
    } else if (!jwtPublicKey && !jwtPublicKeyUrl) {
      read.report(
        'BOARDS_JWT_PUBLIC_KEY',
        `${jwtAlgorithm} needs BOARDS_JWT_PUBLIC_KEY (PEM) or BOARDS_JWT_PUBLIC_KEY_URL (JWKS URL)`,
      );
    }
  }
  const secretMinBytes = CONFIG_VARIABLES.BOARDS_JWT_SECRET.minBytesInProduction;
  if (
    isProduction &&
    jwtSecret !== undefined &&
    Buffer.byteLength(jwtSecret, 'utf8') < secretMinBytes
  ) {
    read.report(
      'BOARDS_JWT_SECRET',
      `must be at least ${secretMinBytes} bytes when BOARDS_ENVIRONMENT=production`,
    );
  }

  const oidcIssuers = vars.urls('BOARDS_OIDC_ISSUER', isProduction);
  const oidcClientId = vars.optionalString('BOARDS_OIDC_CLIENT_ID');
  if (providers.includes('oidc')) {
    if (oidcIssuers.length === 0 && read.valid('BOARDS_OIDC_ISSUER')) {
      read.report('BOARDS_OIDC_ISSUER', 'is required for BOARDS_AUTH_PROVIDER=oidc');
    }
    if (!oidcClientId) {
      read.report('BOARDS_OIDC_CLIENT_ID', 'is required for BOARDS_AUTH_PROVIDER=oidc');
    }
  }

  const multiTenantMode = vars.bool('BOARDS_MULTI_TENANT_MODE');
  const defaultTenantSlug = vars.string('BOARDS_TENANT_SLUG');
  if (!isValidSlug(defaultTenantSlug)) {
    read.report(
      'BOARDS_TENANT_SLUG',
      `"${defaultTenantSlug}" is not a valid slug (lowercase letters, digits and inner hyphens, at most 50)`,
    );
  }
  const defaultTenantName = vars.string('BOARDS_TENANT_NAME');
  const tenantNameMax = CONFIG_VARIABLES.BOARDS_TENANT_NAME.maxLength;
  if (defaultTenantName.length > tenantNameMax) {
    read.report('BOARDS_TENANT_NAME', `must be at most ${tenantNameMax} characters`);
  }

  const isolation = vars.choice('BOARDS_TENANT_ISOLATION');
  const tenantDatabaseUrlTemplate = vars.optionalString('BOARDS_TENANT_DATABASE_URL_TEMPLATE');
  const tenantDatabaseOwnerUrlTemplate =
    vars.optionalString('BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE') ?? tenantDatabaseUrlTemplate;
  if (isolation === 'database') {
    if (!tenantDatabaseUrlTemplate) {
      read.report(
        'BOARDS_TENANT_DATABASE_URL_TEMPLATE',
        'is required with BOARDS_TENANT_ISOLATION=database',
      );
    }
    // The same check the provisioner makes: one database per tenant, never a shared one.
    for (const [name, template] of [
      ['BOARDS_TENANT_DATABASE_URL_TEMPLATE', tenantDatabaseUrlTemplate],
      ['BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE', tenantDatabaseOwnerUrlTemplate],
    ] as const) {
      if (!template) continue;
      try {
        checkTenantDatabaseTemplate(template);
      } catch (err) {
        read.report(name, (err as Error).message);
      }
    }
    if (
      tenantDatabaseUrlTemplate &&
      tenantDatabaseOwnerUrlTemplate &&
      !sameTenantDatabases(tenantDatabaseUrlTemplate, tenantDatabaseOwnerUrlTemplate)
    ) {
      read.report(
        'BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE',
        'must name the same server and database as BOARDS_TENANT_DATABASE_URL_TEMPLATE (only the user and password may differ)',
      );
    }
  }

  const databaseUrl = vars.url('BOARDS_DATABASE_URL');
  const ownerUrl = vars.url('BOARDS_DATABASE_OWNER_URL');
  // An invalid BOARDS_DATABASE_URL is reported as such, not again as a missing one.
  const databaseUrlMissing = databaseUrl === undefined && read.valid('BOARDS_DATABASE_URL');
  if (isProduction && databaseUrlMissing) {
    read.report(
      'BOARDS_DATABASE_URL',
      'is required when BOARDS_ENVIRONMENT=production (the embedded database is for development only)',
    );
  }
  if (ownerUrl !== undefined && databaseUrlMissing) {
    read.report('BOARDS_DATABASE_OWNER_URL', 'needs BOARDS_DATABASE_URL as well');
  }
  const runtimeRole = vars.string('BOARDS_DATABASE_RUNTIME_ROLE');
  if (!CONFIG_VARIABLES.BOARDS_DATABASE_RUNTIME_ROLE.pattern.test(runtimeRole)) {
    read.report(
      'BOARDS_DATABASE_RUNTIME_ROLE',
      `"${runtimeRole}" is not a plain role name (lowercase letters, digits, underscores)`,
    );
  }

  if (isolation === 'database' && databaseUrlMissing) {
    read.report(
      'BOARDS_TENANT_ISOLATION',
      '"database" needs BOARDS_DATABASE_URL (a PostgreSQL server for the registry; the embedded database holds one database only)',
    );
  }

  const workers = vars.int('BOARDS_API_WORKERS');
  const healthPort = vars.optionalInt('BOARDS_HEALTH_PORT');
  if (healthPort !== undefined && workers > 1) {
    read.report(
      'BOARDS_HEALTH_PORT',
      'needs BOARDS_API_WORKERS=1 (each process would answer the probes on that port)',
    );
  }
  if (workers > 1 && databaseUrlMissing) {
    read.report(
      'BOARDS_API_WORKERS',
      'more than one worker needs BOARDS_DATABASE_URL (the embedded database belongs to one process)',
    );
  }

  const logLevel = vars.choiceOr('BOARDS_LOG_LEVEL', debug ? 'debug' : 'info');

  const corsOrigins = vars.list('BOARDS_CORS_ORIGINS').filter((origin) => {
    if (origin === '*' || URL.canParse(origin)) return true;
    read.report(
      'BOARDS_CORS_ORIGINS',
      `"${origin}" is not an origin such as https://app.example.com`,
    );
    return false;
  });
  if (isProduction && corsOrigins.includes('*')) {
    read.report(
      'BOARDS_CORS_ORIGINS',
      '"*" is refused when BOARDS_ENVIRONMENT=production; list the origins',
    );
  }

  const allowedDomains: string[] = [];
  for (const domain of vars.list('BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS')) {
    const lowered = domain.toLowerCase().replace(/^@/, '');
    if (/^[a-z0-9.-]+\.[a-z]{2,}$/.test(lowered)) {
      allowedDomains.push(lowered);
    } else {
      read.report('BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS', `"${domain}" is not a domain name`);
    }
  }

  const reservedSlugs = new Set<string>(BUILT_IN_RESERVED_SLUGS);
  if (multiTenantMode) reservedSlugs.add('default');
  for (const slug of vars.list('BOARDS_RESERVED_SLUGS')) {
    if (isValidSlug(slug)) reservedSlugs.add(slug);
    else read.report('BOARDS_RESERVED_SLUGS', `"${slug}" is not a valid slug`);
  }

  const platformAdminSubjects = vars.list('BOARDS_PLATFORM_ADMIN_SUBJECTS');
  // Which identity namespaces are trusted is only known when the issuers are.
  if (read.valid('BOARDS_OIDC_ISSUER')) {
    const namespaces = identityNamespaces(read, providers, oidcIssuers);
    if (namespaces) checkPlatformAdminEntries(read, platformAdminSubjects, namespaces);
  }

  if (isProduction) refusePlaceholders(read);

  // /metrics lists tenant slugs: production needs its token unless it is made public on purpose.
  const metricsToken = vars.optionalString('BOARDS_METRICS_TOKEN');
  const metricsPublic = vars.bool('BOARDS_METRICS_PUBLIC');
  if (
    isProduction &&
    metricsToken === undefined &&
    !metricsPublic &&
    read.valid('BOARDS_METRICS_PUBLIC')
  ) {
    read.report(
      'BOARDS_METRICS_TOKEN',
      'is required when BOARDS_ENVIRONMENT=production (/metrics lists tenant slugs); set a random token, or BOARDS_METRICS_PUBLIC=true to serve /metrics without one',
    );
  }

  const requireHttps = vars.boolOr('BOARDS_REQUIRE_HTTPS', isProduction);
  const trustProxy = parseTrustProxy(read, isProduction);

  const warnings = Object.keys(env)
    .filter((name) => name.startsWith('BOARDS_') && !KNOWN.has(name))
    .map((name) => `${name} is not a known setting and is ignored (check the spelling)`);
  // This server does not terminate TLS: requests are HTTPS only as a trusted proxy says
  // (X-Forwarded-Proto). Requiring HTTPS while trusting no proxy would refuse every request.
  if (
    requireHttps &&
    trustsNoProxy(trustProxy) &&
    read.valid('BOARDS_REQUIRE_HTTPS', 'BOARDS_TRUST_PROXY')
  ) {
    read.report(
      'BOARDS_TRUST_PROXY',
      "must list the TLS-terminating proxy's addresses/CIDRs when BOARDS_REQUIRE_HTTPS is on (the production default): without it X-Forwarded-Proto is ignored and every API request would be refused; or set BOARDS_REQUIRE_HTTPS=false",
    );
  }

  const config = new BoardsConfig(
    {
      environment,
      debug,
      database: {
        url: databaseUrl,
        ownerUrl: ownerUrl ?? databaseUrl,
        poolSize: vars.int('BOARDS_DATABASE_POOL_SIZE'),
        runtimeRole,
        autoMigrate: vars.boolOr('BOARDS_DATABASE_AUTO_MIGRATE', !isProduction),
        embeddedDataDir: vars.string('BOARDS_EMBEDDED_DATA_DIR'),
        statementTimeoutMs: vars.int('BOARDS_DATABASE_STATEMENT_TIMEOUT_MS'),
        preparedStatements: vars.bool('BOARDS_DATABASE_PREPARED_STATEMENTS'),
        connectTimeoutMs: vars.int('BOARDS_DATABASE_CONNECT_TIMEOUT_MS'),
        statementTimeouts: {
          read: vars.int('BOARDS_STATEMENT_TIMEOUT_READ_MS'),
          write: vars.int('BOARDS_STATEMENT_TIMEOUT_WRITE_MS'),
          search: vars.int('BOARDS_STATEMENT_TIMEOUT_SEARCH_MS'),
          admin: vars.int('BOARDS_STATEMENT_TIMEOUT_ADMIN_MS'),
        },
        tenantPoolPercent: vars.int('BOARDS_DATABASE_TENANT_POOL_PERCENT'),
        tenantSearchPercent: vars.int('BOARDS_DATABASE_TENANT_SEARCH_PERCENT'),
        tenantQueueMs: vars.int('BOARDS_DATABASE_TENANT_QUEUE_MS'),
        searchMsPerSecond: vars.int('BOARDS_SEARCH_MS_PER_SECOND'),
        searchBurstMs: vars.int('BOARDS_SEARCH_BURST_MS'),
      },
      redisUrl: vars.url('BOARDS_REDIS_URL'),
      redisKeyPrefix: vars.string('BOARDS_REDIS_KEY_PREFIX'),
      auth: {
        providers,
        jwt: {
          secret: jwtSecret,
          algorithm: jwtAlgorithm,
          publicKey: jwtPublicKey,
          publicKeyUrl: jwtPublicKeyUrl,
          issuer: vars.optionalString('BOARDS_JWT_ISSUER'),
          audience: vars.optionalString('BOARDS_JWT_AUDIENCE'),
          tenantClaim: vars.string('BOARDS_JWT_TENANT_CLAIM'),
          clockSkewSeconds: vars.int('BOARDS_JWT_CLOCK_SKEW_SECONDS'),
        },
        oidc: {
          issuers: oidcIssuers,
          clientId: oidcClientId,
          clientSecret: vars.optionalString('BOARDS_OIDC_CLIENT_SECRET'),
          audience: vars.optionalString('BOARDS_OIDC_AUDIENCE') ?? oidcClientId,
        },
        jwksCacheSeconds: vars.int('BOARDS_JWKS_CACHE_SECONDS'),
        jwksCooldownSeconds: vars.int('BOARDS_JWKS_COOLDOWN_SECONDS'),
        platformAdminSubjects,
        platformAdminRole: vars.optionalString('BOARDS_PLATFORM_ADMIN_ROLE'),
        tokenCache: {
          maxEntries: vars.int('BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES'),
          maxBytes: vars.int('BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES'),
        },
      },
      tenancy: {
        multiTenantMode,
        defaultTenantName,
        defaultTenantSlug,
        isolation,
        tenantDatabaseUrlTemplate,
        tenantDatabaseOwnerUrlTemplate,
        tenantDataSourceCacheSize: vars.int('BOARDS_TENANT_DATASOURCE_CACHE_SIZE'),
        tenantConnectionBudget: vars.int('BOARDS_TENANT_CONNECTION_BUDGET'),
        registration: {
          requiresApproval: vars.bool('BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL'),
          allowedDomains,
          maxTenantsPerUser: vars.int('BOARDS_MAX_TENANTS_PER_USER'),
        },
        reservedSlugs,
        deletedSlugQuarantineDays: vars.int('BOARDS_DELETED_SLUG_QUARANTINE_DAYS'),
        invitationTtlDays: vars.int('BOARDS_INVITATION_TTL_DAYS'),
      },
      api: {
        host: vars.string('BOARDS_API_HOST'),
        port: vars.int('BOARDS_API_PORT'),
        healthPort,
        workers,
        corsOrigins,
        frontendBaseUrl: vars.url('BOARDS_FRONTEND_BASE_URL'),
        bodyLimitBytes: vars.int('BOARDS_API_BODY_LIMIT_BYTES'),
        shutdownDrainSeconds: vars.int('BOARDS_SHUTDOWN_DRAIN_SECONDS'),
        requireHttps,
        trustProxy,
        directRoutes: vars.bool('BOARDS_API_DIRECT_ROUTES'),
      },
      quotas: {
        boards: vars.int('BOARDS_QUOTA_BOARDS'),
        generations_per_board: vars.int('BOARDS_QUOTA_GENERATIONS_PER_BOARD'),
        members_per_board: vars.int('BOARDS_QUOTA_MEMBERS_PER_BOARD'),
        stored_bytes: vars.int('BOARDS_QUOTA_STORED_BYTES'),
      },
      listPageMaxBytes: vars.int('BOARDS_LIST_PAGE_MAX_BYTES'),
      listBytesPerSecond: vars.int('BOARDS_LIST_BYTES_PER_SECOND'),
      rateLimits: {
        enabled: vars.bool('BOARDS_RATE_LIMIT_ENABLED'),
        perClientPerMinute: vars.int('BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE'),
        refusalsPerClientPerMinute: vars.int('BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE'),
        perUserPerMinute: vars.int('BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE'),
        perTenantPerMinute: vars.int('BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE'),
      },
      observability: {
        logLevel,
        auditLogging: vars.bool('BOARDS_ENABLE_AUDIT_LOGGING'),
        advancedMetrics: vars.bool('BOARDS_ENABLE_ADVANCED_METRICS'),
        metricsToken,
        metricsPublic,
        metricsTenantLabelLimit: vars.int('BOARDS_METRICS_TENANT_LABEL_LIMIT'),
        healthCacheMs: vars.int('BOARDS_HEALTH_CACHE_MS'),
        readinessRefreshMs: vars.int('BOARDS_READINESS_REFRESH_MS'),
      },
      warnings,
    },
    boardsVariables(env),
  );
  read.throwIfProblems();
  return config;
}

/** The BOARDS_* entries of an environment: all loadConfig reads, so they rebuild the same config. */
function boardsVariables(env: Env): Env {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name, value]) => name.startsWith('BOARDS_') && value !== undefined,
    ),
  );
}

/**
 * Identities are written `<namespace>:<subject>` (users' cache keys, the change log's digests,
 * `tenants.registered_by`, qualified platform-admin entries). That is unambiguous only if no
 * trusted namespace followed by `:` begins another one: issuers `https://idp.test` and
 * `https://idp.test:8443` would make `oidc:idp.test` + `8443:alice` and `oidc:idp.test:8443` +
 * `alice` the same text, so such a pair of issuers is refused.
 */
function identityNamespaces(
  read: EnvReader,
  providers: readonly AuthProviderName[],
  oidcIssuers: readonly string[],
): string[] | undefined {
  const namespaces = [
    ...(providers.includes('none') ? ['none'] : []),
    ...(providers.includes('jwt') ? ['jwt'] : []),
    ...(providers.includes('oidc') ? oidcIssuers.map(oidcProviderName) : []),
  ];
  let clashes = false;
  for (const namespace of namespaces) {
    const clash = namespaces.find((other) => other.startsWith(`${namespace}:`));
    if (clash) {
      clashes = true;
      read.report(
        'BOARDS_OIDC_ISSUER',
        `the identity namespaces ${namespace} and ${clash} cannot be told apart in "<namespace>:<subject>"; trust only one of these issuers, or serve them under distinct hosts or paths`,
      );
    }
  }
  return clashes ? undefined : namespaces;
}

/**
 * BOARDS_PLATFORM_ADMIN_SUBJECTS entries must name one identity without ambiguity: a bare subject
 * (`alice`) matches that `sub` in every trusted identity namespace, so it is refused when there
 * are several (a jwt,oidc chain, or several OIDC issuers): qualify it (`jwt:alice`,
 * `oidc:<issuer host/path>:alice`, which identityNamespaces keeps unambiguous). A caller's subject
 * is only ever compared with bare entries, and a bare entry cannot start with a namespace prefix,
 * so a `sub` that spells a qualified entry never matches it.
 */
function checkPlatformAdminEntries(
  read: EnvReader,
  entries: readonly string[],
  namespaces: readonly string[],
): void {
  for (const entry of entries) {
    if (!isQualifiedEntry(entry) && namespaces.length > 1) {
      read.report(
        'BOARDS_PLATFORM_ADMIN_SUBJECTS',
        `"${entry}" is ambiguous with ${namespaces.length} identity namespaces trusted (${namespaces.join(', ')}); qualify it, e.g. "${namespaces[0]}:${entry}"`,
      );
    }
  }
}

/**
 * Whether two tenant database templates name the same server, port and database (their user and
 * password may differ): the runtime and owner roles must reach the same tenant database.
 */
function sameTenantDatabases(a: string, b: string): boolean {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    return x.host === y.host && x.pathname === y.pathname;
  } catch {
    return false;
  }
}

/** Secrets, and URLs whose password is one (the table's `secret`): example values never reach production. */
const SECRET_VARIABLES = variableEntries()
  .filter(([, spec]) => spec.secret === true)
  .map(([name]) => name);
const URL_VARIABLES = variableEntries()
  .filter(([, spec]) => spec.secret === 'password')
  .map(([name]) => name);

/**
 * Example values shipped in this repository (docs/deployment.md scenarios, .env.* files, docker compose,
 * deploy/postgres-init.sql): a production install that still carries one
 * runs with a secret anybody can read.
 */
export const EXAMPLE_SECRETS: ReadonlySet<string> = new Set([
  'AT_LEAST_32_BYTES_OF_RANDOM_SECRET_MATERIAL',
  'A_LONG_RANDOM_TOKEN',
  'RUNTIME_PASSWORD',
  'OWNER_PASSWORD',
  'REDIS_PASSWORD',
  'boards_app_dev',
  'boards_owner_dev',
  'postgres',
  'secret',
  'password',
  '...',
]);

const EXAMPLE_SECRETS_LOWER = new Set([...EXAMPLE_SECRETS].map((value) => value.toLowerCase()));

/** An example value in any letter case, or one that says "change me" (not inside a longer word). */
export function isPlaceholder(value: string): boolean {
  return (
    /(^|[^a-z0-9])change[_-]?me([^a-z0-9]|$)/i.test(value) ||
    EXAMPLE_SECRETS_LOWER.has(value.trim().toLowerCase())
  );
}

/**
 * In production: refuse secrets, and passwords inside URLs, that are example placeholders (a
 * variable already reported, such as a secret too short or a URL of the wrong scheme, is not
 * reported twice).
 */
function refusePlaceholders(read: EnvReader): void {
  for (const name of SECRET_VARIABLES) {
    const value = read.raw(name);
    if (value !== undefined && read.valid(name) && isPlaceholder(value)) {
      read.report(
        name,
        'is an example placeholder; set a real secret when BOARDS_ENVIRONMENT=production',
      );
    }
  }
  for (const name of URL_VARIABLES) {
    const value = read.raw(name);
    if (value === undefined || !read.valid(name)) continue;
    if (passwordsOf(value).some(isPlaceholder)) {
      read.report(
        name,
        'carries an example placeholder password; set the real one when BOARDS_ENVIRONMENT=production',
      );
    }
  }
}

/**
 * Whether this value of a variable carries no real secret: a secret variable holds an example
 * placeholder, a URL whose password is secret has none or a placeholder one; any other variable's
 * value qualifies. (The .env.* examples are held to this.)
 */
export function carriesOnlyPlaceholders(name: string, value: string): boolean {
  const secret = (CONFIG_VARIABLES as Readonly<Record<string, { secret?: true | 'password' }>>)[
    name
  ]?.secret;
  if (secret === true) return isPlaceholder(value);
  if (secret === 'password') return passwordsOf(value).every(isPlaceholder);
  return true;
}

/**
 * The passwords a URL carries: its user-info password and a `password` query parameter (which
 * libpq and node-postgres also read). None when it does not parse (reported elsewhere).
 */
function passwordsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    return [decodeURIComponent(parsed.password), ...parsed.searchParams.getAll('password')].filter(
      (password) => password !== '',
    );
  } catch {
    return [];
  }
}

/**
 * BOARDS_TRUST_PROXY, handed to Fastify's trustProxy (@fastify/proxy-addr): whose X-Forwarded-For
 * and X-Forwarded-Proto to believe. Off unless set. `true` trusts every hop, so any client can
 * name its own address; production refuses it in favour of the ingress's addresses or CIDRs.
 */
function parseTrustProxy(read: EnvReader, isProduction: boolean): boolean | number | string[] {
  const value = read.raw('BOARDS_TRUST_PROXY');
  if (value === undefined) return CONFIG_VARIABLES.BOARDS_TRUST_PROXY.default;
  const lowered = value.toLowerCase();
  if (lowered === 'true' && isProduction) {
    read.report(
      'BOARDS_TRUST_PROXY',
      '"true" (every hop) lets any client set its address through X-Forwarded-For; list your ' +
        "ingress's addresses/CIDRs instead (such as 10.0.0.0/8) when BOARDS_ENVIRONMENT=production",
    );
    return false;
  }
  if (['true', 'false'].includes(lowered)) return lowered === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const wrong = entries.filter((entry) => !isAddressOrCidr(entry));
  for (const entry of wrong) {
    read.report(
      'BOARDS_TRUST_PROXY',
      `"${entry}" is not true, false, a hop count, or an address/CIDR`,
    );
  }
  return wrong.length > 0 ? false : entries;
}

/** An IPv4 or IPv6 address, optionally with a prefix length that fits it (`10.0.0.0/8`). */
function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return (
    prefix === undefined ||
    (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128))
  );
}

/** Whether Fastify would believe no X-Forwarded-* header at all with this setting. */
function trustsNoProxy(trustProxy: boolean | number | readonly string[]): boolean {
  return typeof trustProxy === 'object' ? trustProxy.length === 0 : !trustProxy;
}

function parseAlgorithm(read: EnvReader, fallback: JwtAlgorithm): JwtAlgorithm {
  const value = read.raw('BOARDS_JWT_ALGORITHM');
  if (value === undefined) return fallback;
  const upper = value.toUpperCase();
  if (!(JWT_ALGORITHMS as readonly string[]).includes(upper)) {
    read.report(
      'BOARDS_JWT_ALGORITHM',
      `must be one of ${JWT_ALGORITHMS.join(', ')}, got "${value}" ("none" is never accepted)`,
    );
    return fallback;
  }
  return upper as JwtAlgorithm;
}

/**
 * BOARDS_AUTH_PROVIDER: one provider or a chain, in order; `none` alone (the default), and never
 * in production. Falls back to `none` when the value is bad (reported).
 */
function parseProviders(read: EnvReader, isProduction: boolean): AuthProviderName[] {
  const spec = CONFIG_VARIABLES.BOARDS_AUTH_PROVIDER;
  const providers: AuthProviderName[] = [];
  for (const name of read.list('BOARDS_AUTH_PROVIDER')) {
    const lowered = name.toLowerCase();
    if ((spec.choices as readonly string[]).includes(lowered)) {
      providers.push(lowered as AuthProviderName);
    } else {
      read.report(
        'BOARDS_AUTH_PROVIDER',
        `unknown provider "${name}" (use none, jwt, oidc, or a comma-separated chain such as jwt,oidc)`,
      );
    }
  }
  if (providers.includes('none') && providers.length > 1) {
    read.report('BOARDS_AUTH_PROVIDER', '"none" cannot be combined with other providers');
  }
  if (!read.valid('BOARDS_AUTH_PROVIDER')) return [spec.default];
  if (providers.length === 0) providers.push(spec.default);
  if (isProduction && providers.includes('none')) {
    read.report(
      'BOARDS_AUTH_PROVIDER',
      '"none" is refused when BOARDS_ENVIRONMENT=production; use jwt or oidc',
    );
  }
  return providers;
}
