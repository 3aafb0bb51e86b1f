/**
 * Setup of the `e2e-database` Jest project: the same e2e suites, with every tenant in a database
 * of its own (BOARDS_TENANT_ISOLATION=database; see testIsolation in test-database.ts).
 */
process.env.BOARDS_TEST_ISOLATION = 'database';
