/**
 * Four tiers (see README "Tests"): unit specs beside the code, integration tests against the real
 * PostgreSQL (or the embedded PGlite when no server is reachable), e2e tests through HTTP, and
 * reliability scenarios that stop and start services of their own.
 */
const base = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // ESM-only dependencies that CommonJS packages require (Node 20 loads them natively, Jest
    // does not): compiled to CommonJS for the test run only.
    '^.+/node_modules/content-disposition/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', esModuleInterop: true }, diagnostics: false },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  moduleNameMapper: {
    '^src/(.*)$': '<rootDir>/src/$1',
    '^migrations/(.*)$': '<rootDir>/migrations/$1',
    '^test/(.*)$': '<rootDir>/test/$1',
  },
};

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 60_000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    {
      // The suites of boards, members, generations, the cross-tenant sweep and the permission
      // matrix again, with a database per tenant (BOARDS_TENANT_ISOLATION=database).
      ...base,
      displayName: 'e2e-database',
      setupFiles: ['<rootDir>/test/support/database-isolation.setup.ts'],
      testMatch: [
        'boards-crud',
        'boards-list',
        'board-members',
        'generations',
        'boards-cross-tenant',
        'boards-permissions',
        // The caches: a change in a tenant's own database reaches every replica.
        'tenant-cache',
      ].map((suite) => `<rootDir>/test/e2e/${suite}.e2e-spec.ts`),
    },
    {
      ...base,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.rel-spec.ts'],
    },
  ],
};
