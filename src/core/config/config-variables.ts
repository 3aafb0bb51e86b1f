/**
 * Every BOARDS_* variable, declared once: its group, how it is parsed (kind, bounds, choices), its
 * default, what it does and whether its value is a secret. loadConfig (boards-config.ts) takes
 * defaults and bounds from here, KNOWN_VARIABLES (the unknown-name warning) is this table's names,
 * and the variable reference in docs/configuration.md is generated from it (`npm run
 * docs:config`, see config-docs.ts). Checks across settings stay in loadConfig.
 */

import { SLUG_MAX_LENGTH } from 'src/common/slug';

export const ENVIRONMENTS = ['development', 'staging', 'production', 'test'] as const;
export const AUTH_PROVIDERS = ['none', 'jwt', 'oidc'] as const;
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'PS256',
] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ISOLATION_STRATEGIES = ['shared', 'database'] as const;

const POSTGRES_PROTOCOLS = ['postgres', 'postgresql'] as const;
const JWT_SECRET_MIN_BYTES = 32;
const WEB_PROTOCOLS = ['https', 'http'] as const;

/** The sections of the reference, in the order they are printed. */
export const VARIABLE_GROUPS = {
  general: 'General',
  server: 'HTTP server',
  database: 'Database and Redis',
  auth: 'Authentication',
  tenancy: 'Tenancy',
  limits: 'Rate limits, quotas and budgets',
  observability: 'Observability',
} as const;
export type VariableGroup = keyof typeof VARIABLE_GROUPS;

/** A default that depends on other settings; the text says how (Markdown, for the reference). */
export interface ComputedDefault {
  readonly computed: string;
}

function computed(text: string): ComputedDefault {
  return { computed: text };
}

interface CommonSpec {
  readonly group: VariableGroup;
  /** What the variable does, in one sentence (Markdown). */
  readonly description: string;
  /** More about it for the reference: effects, interactions, links (Markdown). */
  readonly details?: string;
  /**
   * `true`: the value is a secret; `'password'`: a URL whose password is one. In production an
   * example placeholder (EXAMPLE_SECRETS) is refused there, and the .env.* examples may only
   * carry placeholders.
   */
  readonly secret?: true | 'password';
  /** For a variable without a default: what leaving it unset means (reference only). */
  readonly unset?: string;
}

export interface StringSpec extends CommonSpec {
  readonly kind: 'string';
  readonly default?: string | ComputedDefault;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** The fewest UTF-8 bytes accepted when BOARDS_ENVIRONMENT=production. */
  readonly minBytesInProduction?: number;
}

export interface BoolSpec extends CommonSpec {
  readonly kind: 'bool';
  readonly default: boolean | ComputedDefault;
}

export interface IntSpec extends CommonSpec {
  readonly kind: 'int';
  /** Absent: the variable is off unless set (`unset` says what that means). */
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

export interface ChoiceSpec extends CommonSpec {
  readonly kind: 'choice';
  readonly choices: readonly string[];
  readonly default: string | ComputedDefault;
}

export interface UrlSpec extends CommonSpec {
  readonly kind: 'url';
  readonly protocols: readonly string[];
  readonly default?: ComputedDefault;
}

export interface UrlListSpec extends CommonSpec {
  readonly kind: 'urls';
  readonly protocols: readonly string[];
  /** The schemes accepted when BOARDS_ENVIRONMENT=production. */
  readonly productionProtocols: readonly string[];
}

export interface ListSpec extends CommonSpec {
  readonly kind: 'list';
  /** Entries allowed (any when absent). */
  readonly choices?: readonly string[];
  /** The list when unset. */
  readonly default?: string;
}

/** A value with a parser of its own in loadConfig; `accepts` says what it takes. */
export interface CustomSpec extends CommonSpec {
  readonly kind: 'custom';
  readonly accepts: string;
  readonly default: boolean;
}

export type VariableSpec =
  StringSpec | BoolSpec | IntSpec | ChoiceSpec | UrlSpec | UrlListSpec | ListSpec | CustomSpec;

export const CONFIG_VARIABLES = {
  // General
  BOARDS_ENVIRONMENT: {
    group: 'general',
    kind: 'choice',
    choices: ENVIRONMENTS,
    default: 'development',
    description: 'The kind of deployment, which decides the stricter checks and defaults.',
    details:
      '`production` refuses `BOARDS_AUTH_PROVIDER=none`, the embedded database, ' +
      `a JWT secret under ${JWT_SECRET_MIN_BYTES} bytes, ` +
      '`BOARDS_CORS_ORIGINS=*` and `http://` OIDC issuers; turns auto-migration off and HTTPS enforcement on by default; makes `/health/ready` fail on a degraded isolation configuration; requires `BOARDS_METRICS_TOKEN` (or `BOARDS_METRICS_PUBLIC=true`); refuses `BOARDS_TRUST_PROXY=true`; refuses `boards auth token`.',
  },
  BOARDS_DEBUG: {
    group: 'general',
    kind: 'bool',
    default: false,
    description: 'Makes `debug` the default log level.',
    details:
      'It also prints the full error after the one-line reason when `boards serve` or `boards migrate` cannot start.',
  },
  BOARDS_LOG_LEVEL: {
    group: 'general',
    kind: 'choice',
    choices: LOG_LEVELS,
    default: computed('`info` (`debug` with `BOARDS_DEBUG`)'),
    description: 'The least severe log level written.',
    details:
      'Logs are JSON lines on stdout (pino), one per request with `request_id`, `tenant_slug`, `user_id`, route, status and time; secrets are redacted.',
  },

  // HTTP server
  BOARDS_API_HOST: {
    group: 'server',
    kind: 'string',
    default: '0.0.0.0',
    description: 'The address the server listens on.',
  },
  BOARDS_API_PORT: {
    group: 'server',
    kind: 'int',
    default: 8800,
    min: 0,
    max: 65_535,
    description: 'The port the server listens on.',
  },
  BOARDS_HEALTH_PORT: {
    group: 'server',
    kind: 'int',
    min: 0,
    max: 65_535,
    unset: 'the probes are answered on `BOARDS_API_PORT` only',
    description:
      'A second port for the Kubernetes probes (`/health/live`, `/health/ready`), answered by a thread of its own.',
    details:
      'That thread answers from the readiness the main thread publishes (every 200 ms), so a probe never waits behind API requests; when the main event loop has not run for 3 s, both probes answer 503. Needs `BOARDS_API_WORKERS=1`. The probes stay on `BOARDS_API_PORT` too.',
  },
  BOARDS_API_WORKERS: {
    group: 'server',
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    description: 'Processes per instance.',
    details:
      'Above 1, the process forks that many workers sharing the port (node:cluster) and replaces a worker that dies; needs `BOARDS_DATABASE_URL`.',
  },
  BOARDS_API_BODY_LIMIT_BYTES: {
    group: 'server',
    kind: 'int',
    default: 1_048_576,
    min: 1_024,
    max: 104_857_600,
    description: 'The largest request body accepted, in bytes.',
  },
  BOARDS_SHUTDOWN_DRAIN_SECONDS: {
    group: 'server',
    kind: 'int',
    default: 5,
    min: 0,
    max: 300,
    description:
      'How long the server keeps serving after SIGTERM or SIGINT, readiness already 503.',
    details: 'Then it stops accepting connections and finishes the requests in flight.',
  },
  BOARDS_REQUIRE_HTTPS: {
    group: 'server',
    kind: 'bool',
    default: computed('`true` in production, else `false`'),
    description: 'Refuses plain-HTTP API requests with 403 and sends HSTS.',
    details:
      'Behind a proxy the scheme comes from `X-Forwarded-Proto`. `/health*` and `/metrics` stay reachable over plain HTTP (probes, scrapers).',
  },
  BOARDS_TRUST_PROXY: {
    group: 'server',
    kind: 'custom',
    accepts:
      'a comma list of proxy addresses/CIDRs such as `10.0.0.0/8` (your ingress), a hop count such as `1`, `false`, or `true` (any hop)',
    default: false,
    description:
      'Whose `X-Forwarded-For`/`X-Forwarded-Proto` to believe (client address for audit events and per-address limits, scheme for `BOARDS_REQUIRE_HTTPS`).',
    details:
      '`true` is refused in production, since any client could then choose its address. With HTTPS required (the production default) it must list the TLS-terminating proxy, or the server refuses to start (it would refuse every API request) ([docs/operations.md](operations.md#client-addresses-behind-a-proxy)).',
  },
  BOARDS_API_DIRECT_ROUTES: {
    group: 'server',
    kind: 'bool',
    default: true,
    description:
      "Dispatches the hot board reads (`@DirectRoute` handlers: `GET /api/boards`, `GET /api/boards/{id}`) without Nest's router machinery.",
    details:
      'Same guards, pipes, handler and error filter ([docs/adr/0001-direct-routes.md](adr/0001-direct-routes.md)). `false`: every route through Nest.',
  },
  BOARDS_CORS_ORIGINS: {
    group: 'server',
    kind: 'list',
    unset: 'no CORS',
    description: 'Browser origins allowed to call the API, e.g. `https://app.example.com`.',
    details: '`*` allows any origin without credentials and is refused in production.',
  },
  BOARDS_FRONTEND_BASE_URL: {
    group: 'server',
    kind: 'url',
    protocols: WEB_PROTOCOLS,
    description: 'Base URL of the web front end.',
    details: 'Registration answers with `dashboard_url` = this URL + `/<slug>`.',
  },

  // Database and Redis
  BOARDS_DATABASE_URL: {
    group: 'database',
    kind: 'url',
    protocols: POSTGRES_PROTOCOLS,
    secret: 'password',
    unset: 'embedded database',
    description:
      'The PostgreSQL URL the server connects with, as the runtime role (see "Database roles").',
    details: 'Required in production.',
  },
  BOARDS_DATABASE_OWNER_URL: {
    group: 'database',
    kind: 'url',
    protocols: POSTGRES_PROTOCOLS,
    secret: 'password',
    default: computed('`BOARDS_DATABASE_URL`'),
    description: 'URL of the role that owns the tables.',
    details:
      'Used by migrations and the owner-level CLI commands (`tenant audit`, `tenant export`, `tenant import`). Needs `BOARDS_DATABASE_URL` as well.',
  },
  BOARDS_DATABASE_RUNTIME_ROLE: {
    group: 'database',
    kind: 'string',
    default: 'boards_app',
    pattern: /^[a-z_][a-z0-9_]{0,62}$/,
    description:
      'The role every runtime query runs as, and the role migrations grant privileges to.',
    details: 'Lowercase letters, digits, underscores.',
  },
  BOARDS_DATABASE_POOL_SIZE: {
    group: 'database',
    kind: 'int',
    default: 10,
    min: 1,
    max: 500,
    description: 'Runtime connection pool size per process.',
  },
  BOARDS_DATABASE_AUTO_MIGRATE: {
    group: 'database',
    kind: 'bool',
    default: computed('`true` (`false` in production)'),
    description: 'Applies pending migrations with the owner URL when the server starts.',
  },
  BOARDS_DATABASE_STATEMENT_TIMEOUT_MS: {
    group: 'database',
    kind: 'int',
    default: 30_000,
    min: 0,
    max: 3_600_000,
    description:
      'The `statement_timeout` of runtime connections to a PostgreSQL server, in ms (0: none).',
  },
  BOARDS_DATABASE_CONNECT_TIMEOUT_MS: {
    group: 'database',
    kind: 'int',
    default: 3_000,
    min: 100,
    max: 60_000,
    description:
      'The longest wait for a database connection (a new one, or a free one of the pool), in ms.',
    details: 'Past it the request is answered 503 with `Retry-After`.',
  },
  BOARDS_DATABASE_PREPARED_STATEMENTS: {
    group: 'database',
    kind: 'bool',
    default: true,
    description:
      "Runs the hot reads (board list and get, user lookup) and the repositories' writes (board create, memberships, invitations) as named prepared statements, parsed and planned once per connection.",
    details:
      'Set `false` behind a transaction-mode pooler that cannot carry them (PgBouncer before 1.21, or without `max_prepared_statements`).',
  },
  BOARDS_STATEMENT_TIMEOUT_READ_MS: {
    group: 'database',
    kind: 'int',
    default: 5_000,
    min: 0,
    max: 3_600_000,
    description: 'Statement timeout of the tenant transactions of GET requests, in ms (0: none).',
    details:
      'A statement stopped by it is 503 with `Retry-After` ([docs/fairness.md](fairness.md)).',
  },
  BOARDS_STATEMENT_TIMEOUT_WRITE_MS: {
    group: 'database',
    kind: 'int',
    default: 10_000,
    min: 0,
    max: 3_600_000,
    description:
      'Statement timeout of the tenant transactions of other methods than GET, in ms (0: none).',
  },
  BOARDS_STATEMENT_TIMEOUT_SEARCH_MS: {
    group: 'database',
    kind: 'int',
    default: 2_000,
    min: 0,
    max: 3_600_000,
    description:
      'Statement timeout of the tenant transactions of searches (GET with `q`), in ms (0: none).',
  },
  BOARDS_STATEMENT_TIMEOUT_ADMIN_MS: {
    group: 'database',
    kind: 'int',
    default: 300_000,
    min: 0,
    max: 3_600_000,
    description:
      'Statement timeout of the tenant transactions of `/api/setup/*`, the CLI and background work, in ms (0: none).',
  },
  BOARDS_DATABASE_TENANT_POOL_PERCENT: {
    group: 'database',
    kind: 'int',
    default: 50,
    min: 1,
    max: 100,
    description:
      "The share of a process's pool one tenant may hold at once, in percent (at least one connection).",
    details: 'The other tenants always find a connection.',
  },
  BOARDS_DATABASE_TENANT_SEARCH_PERCENT: {
    group: 'database',
    kind: 'int',
    default: 10,
    min: 1,
    max: 100,
    description:
      "The share of the pool one tenant's searches may hold at once, in percent (at least one connection).",
  },
  BOARDS_SEARCH_MS_PER_SECOND: {
    group: 'database',
    kind: 'int',
    default: 250,
    min: 1,
    max: 1_000_000,
    description: "Database time a tenant's searches may spend per second, per process.",
    details: 'Past it the search is 429 `search_budget_exhausted`.',
  },
  BOARDS_SEARCH_BURST_MS: {
    group: 'database',
    kind: 'int',
    default: 500,
    min: 1,
    max: 3_600_000,
    description: "Database time a tenant's searches may spend at once, per process.",
  },
  BOARDS_DATABASE_TENANT_QUEUE_MS: {
    group: 'database',
    kind: 'int',
    default: 1_000,
    min: 0,
    max: 60_000,
    description: "How long a request waits for its tenant's share of the pool to free up, in ms.",
    details: 'Past it the request is answered 429 `tenant_busy`.',
  },
  BOARDS_EMBEDDED_DATA_DIR: {
    group: 'database',
    kind: 'string',
    default: '.boards/pgdata',
    description: 'Data folder of the embedded database when `BOARDS_DATABASE_URL` is unset.',
    details: '`memory://` keeps it in memory.',
  },
  BOARDS_REDIS_URL: {
    group: 'database',
    kind: 'url',
    protocols: ['redis', 'rediss'],
    secret: 'password',
    description:
      'The Redis that shares rate-limit counters and the tenant/user cache between replicas.',
    details:
      'When set, `/health/ready` requires Redis to answer. Without it (or while it is down) each process counts and caches on its own.',
  },
  BOARDS_REDIS_KEY_PREFIX: {
    group: 'database',
    kind: 'string',
    default: 'boards',
    description: 'Prefix of every Redis key (cache entries and rate-limit counters).',
    details: 'Installations sharing one Redis stay apart.',
  },

  // Authentication
  BOARDS_AUTH_PROVIDER: {
    group: 'auth',
    kind: 'list',
    choices: AUTH_PROVIDERS,
    default: 'none',
    description:
      'How callers authenticate: one provider, or a chain such as `jwt,oidc` tried in order.',
    details:
      'The first provider that verifies the token wins. `none` makes every request the development user `dev-user`; it cannot be combined and is refused in production.',
  },
  BOARDS_JWT_SECRET: {
    group: 'auth',
    kind: 'string',
    secret: true,
    minBytesInProduction: JWT_SECRET_MIN_BYTES,
    description: 'The HMAC secret of `jwt` with `HS256/384/512`, where it is required.',
    details: 'It also signs `boards auth token` development tokens.',
  },
  BOARDS_JWT_ALGORITHM: {
    group: 'auth',
    kind: 'choice',
    choices: JWT_ALGORITHMS,
    default: computed('`HS256`, or `RS256` when only a public key or key URL is set'),
    description: 'The one algorithm `jwt` accepts.',
    details: '`none` is never accepted.',
  },
  BOARDS_JWT_PUBLIC_KEY: {
    group: 'auth',
    kind: 'string',
    description: 'The PEM public key of an asymmetric algorithm.',
    details: 'It must match the algorithm: RSA for RS/PS, the right curve for ES.',
  },
  BOARDS_JWT_PUBLIC_KEY_URL: {
    group: 'auth',
    kind: 'url',
    protocols: WEB_PROTOCOLS,
    description: 'The JWKS URL of an asymmetric algorithm, instead of a PEM key.',
  },
  BOARDS_JWT_ISSUER: {
    group: 'auth',
    kind: 'string',
    unset: 'not checked',
    description: 'The expected `iss` of `jwt` tokens.',
  },
  BOARDS_JWT_AUDIENCE: {
    group: 'auth',
    kind: 'string',
    unset: 'not checked',
    description: 'The expected `aud` of `jwt` tokens.',
  },
  BOARDS_JWT_TENANT_CLAIM: {
    group: 'auth',
    kind: 'string',
    default: 'tenant',
    description: "The one claim that lists a caller's tenants (jwt and oidc).",
    details:
      'A slug or an array of slugs, compared exactly; no other claim name is read, and a present value that is not a slug is 403 ([docs/tenancy.md](tenancy.md)).',
  },
  BOARDS_JWT_CLOCK_SKEW_SECONDS: {
    group: 'auth',
    kind: 'int',
    default: 30,
    min: 0,
    max: 600,
    description: 'Tolerance for `exp`/`nbf`/`iat`, in seconds.',
  },
  BOARDS_OIDC_ISSUER: {
    group: 'auth',
    kind: 'urls',
    protocols: WEB_PROTOCOLS,
    productionProtocols: ['https'],
    description: 'Trusted issuer URL(s), comma-separated; required for `oidc`.',
    details:
      "Signing keys come from each issuer's discovery document (`/.well-known/openid-configuration` → `jwks_uri`); only asymmetric algorithms are accepted.",
  },
  BOARDS_OIDC_CLIENT_ID: {
    group: 'auth',
    kind: 'string',
    description: 'The client id; required for `oidc`.',
  },
  BOARDS_OIDC_CLIENT_SECRET: {
    group: 'auth',
    kind: 'string',
    secret: true,
    description: 'The client secret, validated but not used.',
    details: 'The API only verifies tokens and never calls the token endpoint.',
  },
  BOARDS_OIDC_AUDIENCE: {
    group: 'auth',
    kind: 'string',
    default: computed('`BOARDS_OIDC_CLIENT_ID`'),
    description: 'The expected `aud` of OIDC tokens (always checked).',
  },
  BOARDS_JWKS_CACHE_SECONDS: {
    group: 'auth',
    kind: 'int',
    default: 600,
    min: 10,
    max: 86_400,
    description: 'How long fetched key sets are kept, in seconds.',
  },
  BOARDS_JWKS_COOLDOWN_SECONDS: {
    group: 'auth',
    kind: 'int',
    default: 30,
    min: 1,
    max: 3_600,
    description:
      'The least time between two refetches of a key set (e.g. for an unknown key id), in seconds.',
  },
  BOARDS_PLATFORM_ADMIN_SUBJECTS: {
    group: 'auth',
    kind: 'list',
    description: 'Platform administrators, who manage all tenants through `/api/setup/*`.',
    details:
      'Entries: `jwt:alice`, `oidc:<issuer host/path>:alice`, or bare `alice` when only one identity namespace is trusted (refused otherwise, like an entry two issuers could claim). A subject is never compared with a qualified entry ([docs/tenancy.md](tenancy.md) §5).',
  },
  BOARDS_PLATFORM_ADMIN_ROLE: {
    group: 'auth',
    kind: 'string',
    description: 'A role that makes its holder a platform administrator.',
    details:
      'Looked up in the claims `roles`, `role`, `groups` and `realm_access.roles` (exact match).',
  },
  BOARDS_AUTH_TOKEN_CACHE_MAX_ENTRIES: {
    group: 'auth',
    kind: 'int',
    default: 50_000,
    min: 1,
    max: 10_000_000,
    description: 'The most verified tokens remembered, each for up to 60 s.',
    details: 'A repeated token is then not verified again.',
  },
  BOARDS_AUTH_TOKEN_CACHE_MAX_BYTES: {
    group: 'auth',
    kind: 'int',
    default: 33_554_432,
    min: 1_048_576,
    max: 17_179_869_184,
    description: 'The most heap the verified-token cache may hold, by an estimate per token.',
    details: 'Least recently used tokens go first.',
  },

  // Tenancy
  BOARDS_MULTI_TENANT_MODE: {
    group: 'tenancy',
    kind: 'bool',
    default: false,
    description: 'Whether the service holds many tenants rather than one.',
    details:
      '`false`: one tenant, created on start from the two settings below. `true`: the tenant comes from the token or the `X-Tenant` header, and self-service registration is open.',
  },
  BOARDS_TENANT_NAME: {
    group: 'tenancy',
    kind: 'string',
    default: 'Default Organization',
    maxLength: 255,
    description: 'The name of the single tenant.',
  },
  BOARDS_TENANT_SLUG: {
    group: 'tenancy',
    kind: 'string',
    default: 'default',
    description: 'The slug of the single tenant.',
    details: `Lowercase letters, digits, inner hyphens, at most ${SLUG_MAX_LENGTH} characters.`,
  },
  BOARDS_TENANT_ISOLATION: {
    group: 'tenancy',
    kind: 'choice',
    choices: ISOLATION_STRATEGIES,
    default: 'shared',
    description: 'How tenants are kept apart.',
    details:
      '`shared`: one database, isolation by the four layers of [docs/tenancy.md](tenancy.md). `database`: each tenant in a database of its own (same schema, same layers), the registry in `BOARDS_DATABASE_URL`; see [docs/scaling.md](scaling.md). Needs a PostgreSQL server (not the embedded database).',
  },
  BOARDS_TENANT_DATABASE_URL_TEMPLATE: {
    group: 'tenancy',
    kind: 'string',
    secret: 'password',
    description:
      "For `database` isolation: the runtime role's URL of a tenant's database, with `{slug}` or `{id}` in the database name.",
    details:
      'E.g. `postgresql://boards_app:pw@db:5432/tenant_{slug}`. A placeholder only in the user name, host or query would put every tenant in one database, and is refused. A URL recorded for one tenant (`boards tenant database set`) replaces its host, port and database; user and password stay those of the template.',
  },
  BOARDS_TENANT_DATABASE_OWNER_URL_TEMPLATE: {
    group: 'tenancy',
    kind: 'string',
    secret: 'password',
    default: computed('`BOARDS_TENANT_DATABASE_URL_TEMPLATE`'),
    description:
      "For `database` isolation: the owner role's URL of a tenant's database (it creates the database, so it needs CREATEDB).",
    details: 'Same placeholders and database name as `BOARDS_TENANT_DATABASE_URL_TEMPLATE`.',
  },
  BOARDS_TENANT_DATASOURCE_CACHE_SIZE: {
    group: 'tenancy',
    kind: 'int',
    default: 50,
    min: 1,
    max: 10_000,
    description: 'For `database` isolation: most tenant databases one process keeps open at once.',
    details:
      'Least recently used first to close; one in use is never closed. Each gets `BOARDS_TENANT_CONNECTION_BUDGET / BOARDS_TENANT_DATASOURCE_CACHE_SIZE` connections (at least one).',
  },
  BOARDS_TENANT_CONNECTION_BUDGET: {
    group: 'tenancy',
    kind: 'int',
    default: 100,
    min: 1,
    max: 10_000,
    description:
      'For `database` isolation: most connections to tenant databases one process holds at once.',
    details:
      "Keep replicas × budget below the servers' `max_connections`. A request finding no room within a few seconds is 503 with Retry-After.",
  },
  BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: {
    group: 'tenancy',
    kind: 'bool',
    default: false,
    description:
      'Self-registered tenants start `pending_approval` until a platform admin approves them.',
  },
  BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: {
    group: 'tenancy',
    kind: 'list',
    unset: 'any',
    description: 'E-mail domains allowed to register tenants, e.g. `acme.com,acme.co.uk`.',
    details:
      "The admin e-mail and the token's e-mail must match, and the token must say `email_verified: true`.",
  },
  BOARDS_MAX_TENANTS_PER_USER: {
    group: 'tenancy',
    kind: 'int',
    default: 3,
    min: 1,
    max: 10_000,
    description: 'Tenants one identity may register.',
  },
  BOARDS_RESERVED_SLUGS: {
    group: 'tenancy',
    kind: 'list',
    description: 'Slugs nobody may register or create, added to the built-in list.',
    details:
      'The built-in list: `admin`, `api`, `www`, `setup`, `health`, `metrics`, `docs`, `static`, `auth`, `login`, …, and `default` in multi-tenant mode.',
  },
  BOARDS_DELETED_SLUG_QUARANTINE_DAYS: {
    group: 'tenancy',
    kind: 'int',
    default: 30,
    min: 0,
    max: 3_650,
    description: "Days a deleted tenant's slug cannot be taken by another tenant.",
    details: 'A platform admin may release it earlier.',
  },
  BOARDS_INVITATION_TTL_DAYS: {
    group: 'tenancy',
    kind: 'int',
    default: 7,
    min: 1,
    max: 365,
    description: 'Days an invitation to a tenant can be accepted.',
  },

  // Rate limits, quotas and budgets
  BOARDS_RATE_LIMIT_ENABLED: {
    group: 'limits',
    kind: 'bool',
    default: true,
    description: 'Turns all rate limits off with `false`.',
  },
  BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: {
    group: 'limits',
    kind: 'int',
    default: 600,
    min: 1,
    max: 10_000_000,
    description: 'Requests per minute per caller (token identity, else client address).',
  },
  BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: {
    group: 'limits',
    kind: 'int',
    default: 6_000,
    min: 1,
    max: 10_000_000,
    description: 'Requests per minute for a whole tenant, so one tenant cannot starve the others.',
  },
  BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: {
    group: 'limits',
    kind: 'int',
    default: 6_000,
    min: 1,
    max: 10_000_000,
    description:
      'Requests per minute per client address, counted before authentication (every outcome).',
    details: 'Past it 429 `client_rate_limited`. Health probes and `/metrics` are not counted.',
  },
  BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: {
    group: 'limits',
    kind: 'int',
    default: 300,
    min: 1,
    max: 10_000_000,
    description:
      'Of those, 401, 403 and 404 answers (and 429s of the later limits) per client address per minute.',
    details:
      'Past it the address gets 429 for everything until the minute ends (floods of guessed tenants, ids or tokens).',
  },
  BOARDS_QUOTA_BOARDS: {
    group: 'limits',
    kind: 'int',
    default: 10_000,
    min: 0,
    max: 100_000_000,
    description: "Every tenant's default quota of boards.",
    details:
      'A platform admin overrides the quotas per tenant with `PUT /api/setup/tenant/{id}` `{"quotas": {…}}`; exceeding one is 403 `quota_exceeded` naming it ([docs/fairness.md](fairness.md)).',
  },
  BOARDS_QUOTA_GENERATIONS_PER_BOARD: {
    group: 'limits',
    kind: 'int',
    default: 10_000,
    min: 0,
    max: 100_000_000,
    description: "Every tenant's default quota of generations per board.",
  },
  BOARDS_QUOTA_MEMBERS_PER_BOARD: {
    group: 'limits',
    kind: 'int',
    default: 1_000,
    min: 0,
    max: 10_000_000,
    description: "Every tenant's default quota of members per board.",
  },
  BOARDS_QUOTA_STORED_BYTES: {
    group: 'limits',
    kind: 'int',
    default: 1_073_741_824,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: "Every tenant's default quota of stored bytes.",
  },
  BOARDS_LIST_PAGE_MAX_BYTES: {
    group: 'limits',
    kind: 'int',
    default: 262_144,
    min: 1_024,
    max: 104_857_600,
    description:
      "A list page ends early once its items' stored text and JSON would pass this many bytes.",
    details: 'A page always has at least one item; `next_cursor` goes on from there.',
  },
  BOARDS_LIST_BYTES_PER_SECOND: {
    group: 'limits',
    kind: 'int',
    default: 2_097_152,
    min: 1_024,
    max: 10_737_418_240,
    description:
      "Stored bytes a tenant's list pages may carry per second per process (and at once).",
    details: 'Past it 429 `list_budget_exhausted`.',
  },

  // Observability
  BOARDS_ENABLE_AUDIT_LOGGING: {
    group: 'observability',
    kind: 'bool',
    default: false,
    description:
      "Records audit events in the same transaction as the change, and serves a tenant's events to its admins at `GET /api/audit-events`.",
    details:
      "Events: `tenant.create`, `.register`, `.update`, `.approve`, `.reject`, `.suspend`, `.activate`; `board.create`, `.update`, `.delete`, `.transfer`; `board.member.add`, `.update`, `.remove`, `.leave`; `generation.create`, `.cancel`, `.delete`; `tenant.member.join`, `.role_change`, `.remove`, `.leave`; `tenant.invitation.create`, `.revoke`; `tenant.domain.add`, `.remove`. A tenant's deletion removes its trail with it and is written to the service log instead.",
  },
  BOARDS_ENABLE_ADVANCED_METRICS: {
    group: 'observability',
    kind: 'bool',
    default: false,
    description:
      'Adds the histogram `boards_http_request_duration_seconds{method,route,status_class}` to `/metrics`.',
  },
  BOARDS_METRICS_TOKEN: {
    group: 'observability',
    kind: 'string',
    secret: true,
    unset: 'open',
    description: 'When set, `/metrics` requires `Authorization: Bearer <token>` (otherwise 401).',
    details:
      'Required in production unless `BOARDS_METRICS_PUBLIC=true`, since `/metrics` lists tenant slugs.',
  },
  BOARDS_METRICS_PUBLIC: {
    group: 'observability',
    kind: 'bool',
    default: false,
    description:
      'Lets production start without `BOARDS_METRICS_TOKEN` and serve `/metrics` to anyone.',
    details: 'A token, when set, is still required.',
  },
  BOARDS_METRICS_TENANT_LABEL_LIMIT: {
    group: 'observability',
    kind: 'int',
    default: 100,
    min: 1,
    max: 100_000,
    description: 'The most distinct `tenant_slug` label values in metrics.',
    details: 'Further tenants are counted as `other`.',
  },
  BOARDS_HEALTH_CACHE_MS: {
    group: 'observability',
    kind: 'int',
    default: 1_500,
    min: 0,
    max: 60_000,
    description: 'How long a computed `/health` summary is served, in ms.',
    details: 'Concurrent callers share one computation; 0: computed per call, still one at a time.',
  },
  BOARDS_READINESS_REFRESH_MS: {
    group: 'observability',
    kind: 'int',
    default: 1_000,
    min: 100,
    max: 60_000,
    description: 'How often the readiness checks run in the background, in ms.',
    details:
      '`/health/ready` answers from the last run, and 503 when none completed within 3 × this + 2 s.',
  },
} as const satisfies Readonly<Record<string, VariableSpec>>;

export type VariableName = keyof typeof CONFIG_VARIABLES;
type Table = typeof CONFIG_VARIABLES;

/** The variables whose spec matches S (for typed reads: an int variable is read as an int). */
export type VariablesWhere<S> = {
  [N in VariableName]: Table[N] extends S ? N : never;
}[VariableName];

/** Variables of this kind that have no default of their own (unset: undefined). */
export type VariablesWithoutDefault<K extends VariableSpec['kind']> = {
  [N in VariableName]: Table[N] extends { kind: K }
    ? Table[N] extends { default: unknown }
      ? never
      : N
    : never;
}[VariableName];

/** The spec of one variable, typed by its name. */
export function variableSpec<N extends VariableName>(name: N): Table[N] {
  return CONFIG_VARIABLES[name];
}

/** Every variable's name and spec, in the table's order. */
export function variableEntries(): [VariableName, VariableSpec][] {
  return Object.entries(CONFIG_VARIABLES) as [VariableName, VariableSpec][];
}

export function isComputedDefault(value: unknown): value is ComputedDefault {
  return typeof value === 'object' && value !== null && 'computed' in value;
}
