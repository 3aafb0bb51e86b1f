/**
 * The layering rules of DESIGN.md §1, as ESLint `no-restricted-imports` blocks (imported by
 * eslint.config.mjs; src/architecture.spec.ts plants violations and expects them refused):
 * - core/ never imports a feature (src/modules) nor the application's root files;
 * - a feature uses another feature only through its public files: its Nest module and the
 *   providers (and shared entity) that module exports, listed in FEATURES below;
 * - nothing outside src/core/database/driver-internals.ts reaches into libraries' private files.
 */

/** Each feature's public files (without extension): what its Nest module exports. */
export const FEATURES = {
  audit: ['audit.module', 'audit.service'],
  // The users table is shared: auth provisions people, tenants manages them as members.
  auth: ['auth.module', 'user.entity'],
  boards: ['boards.module'],
  health: ['health.module'],
  metrics: ['metrics.module'],
  tenants: [
    'tenants.module',
    'tenants.repository',
    'invitations.repository',
    'tenant-domains.repository',
    'member-removal.hooks',
    'sample-data.hooks',
  ],
};

/** The application's root: assembled at boot, imported by nothing below it. */
const ROOT = ['src/app.module', 'src/main', 'src/cli', 'src/entities', 'src/openapi'];

const ROOT_PATTERN = {
  group: ROOT,
  message: 'Only the bootstrap assembles the application (DESIGN.md §1 "Layout").',
};

const INTERNALS_PATTERN = {
  group: ['*/dist/**', '@*/*/dist/**', '@nestjs/core/helpers/**', '@nestjs/common/constants'],
  message:
    'Library internals are touched only in src/core/database/driver-internals.ts (DESIGN.md §1).',
};

const CORE_PATTERN = {
  group: ['src/modules/**', '**/modules/**'],
  message:
    'core/ never imports a feature module (DESIGN.md §1): features record into core, not the reverse.',
};

function featurePattern(feature) {
  const others = Object.entries(FEATURES).filter(([name]) => name !== feature);
  return {
    group: [
      'src/modules/*/**',
      `!src/modules/${feature}/**`,
      ...others.flatMap(([name, files]) => files.map((file) => `!src/modules/${name}/${file}`)),
      // Relative paths out of the feature's folder.
      ...Object.keys(FEATURES)
        .filter((name) => name !== feature)
        .flatMap((name) => [`../${name}/**`, `../../${name}/**`]),
      '../../modules/**',
    ],
    message:
      "A feature uses another only through what that feature's Nest module exports (eslint.boundaries.mjs FEATURES, DESIGN.md §1).",
  };
}

const rule = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/** No request-scoped providers: singletons and the AsyncLocalStorage context (every file). */
export const NO_REQUEST_SCOPE = {
  selector: "MemberExpression[object.name='Scope'][property.name='REQUEST']",
  message: 'No request scope: use singletons and the TenantContext.',
};

const TENANT_TABLES_MESSAGE =
  'Tenant tables are reached only through TenantScopedRepository (src/core/database/tenant-scoped.repository.ts): select, aggregate, execute, entityQuery, builder.';

/**
 * Raw SQL and query builders outside core/database: tenant tables through TenantScopedRepository,
 * platform tables (the registry, its domains) through RegistryRepository. Files of `PLATFORM_SQL`
 * are exempt: the owner-level CLI tools (tenant audit, export, import, memberships) work as the
 * table owner across every tenant on purpose, outside the request model.
 */
const RAW_SQL = [
  { selector: "CallExpression[callee.property.name='query']", message: TENANT_TABLES_MESSAGE },
  {
    selector: "CallExpression[callee.property.name='createQueryBuilder']",
    message: TENANT_TABLES_MESSAGE,
  },
  {
    selector: "MemberExpression[object.property.name='transactions'][property.name='read']",
    message: TENANT_TABLES_MESSAGE,
  },
];

/** Private fields of pg, TypeORM and Node, read only in driver-internals.ts. */
const INTERNALS_SYNTAX = [
  "MemberExpression[property.name='master']",
  "MemberExpression[property.name='releasePostgresConnection']",
  "MemberExpression[property.name='transactionDepth']",
  "AssignmentExpression > MemberExpression.left[property.name='isTransactionActive']",
  "MemberExpression[property.name='stream'][object.property.name='connection']",
  "MemberExpression[property.name=/^_[A-Za-z]/]",
  "MemberExpression[object.property.name='constructor'][property.name='name']",
  "NewExpression[callee.name='ExecutionContextHost']",
].map((selector) => ({
  selector,
  message: "Library internals are touched only in src/core/database/driver-internals.ts (DESIGN.md §1).",
}));

export const PLATFORM_SQL = ['src/modules/tenants/cli/**'];

export const boundaries = [
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/database/driver-internals.ts'],
    rules: rule(CORE_PATTERN, ROOT_PATTERN, INTERNALS_PATTERN),
  },
  { files: ['src/core/database/driver-internals.ts'], rules: rule(CORE_PATTERN, ROOT_PATTERN) },
  { files: ['src/common/**/*.ts'], rules: rule(CORE_PATTERN, ROOT_PATTERN, INTERNALS_PATTERN) },
  ...Object.keys(FEATURES).map((feature) => ({
    files: [`src/modules/${feature}/**/*.ts`],
    rules: rule(featurePattern(feature), ROOT_PATTERN, INTERNALS_PATTERN),
  })),
  {
    files: ['src/*.ts'],
    rules: rule(INTERNALS_PATTERN),
  },
  {
    files: ['src/**/*.ts'],
    ignores: [
      'src/core/database/driver-internals.ts',
      // Node's module loader (`Module._load`): reached before TypeORM loads, so not from
      // driver-internals.ts, which imports TypeORM; its only other internal touch.
      'src/core/runtime/deferred-requires.ts',
      'src/**/*.spec.ts',
    ],
    rules: { 'no-restricted-syntax': ['error', NO_REQUEST_SCOPE, ...INTERNALS_SYNTAX] },
  },
  {
    files: ['src/core/runtime/deferred-requires.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_REQUEST_SCOPE] },
  },
  {
    files: ['src/modules/**/*.ts'],
    ignores: [...PLATFORM_SQL, 'src/**/*.spec.ts'],
    rules: { 'no-restricted-syntax': ['error', NO_REQUEST_SCOPE, ...INTERNALS_SYNTAX, ...RAW_SQL] },
  },
];
