import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { ClsService } from 'nestjs-cls';
import { Client } from 'pg';
import { isDatabaseUnavailable } from 'src/core/database/database-unavailable';
import { TenantDatabaseProvisioner } from 'src/core/database/tenant-database-provisioner';
import { DatabaseTenantRouter } from 'src/core/database/tenant-router';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import {
  newTenant,
  openTenantDataSource,
  roleUrl,
  seedTenantDatabase,
  type SeededTenantDatabase,
} from 'test/support/tenant-databases';
import { startThrowawayPostgres, type ThrowawayPostgres } from 'test/support/throwaway-services';

/**
 * Tenants spread over two PostgreSQL servers (BOARDS_TENANT_ISOLATION=database, each tenant's URL
 * on its own server): the machine's server and a throwaway cluster this test starts. Stopping the
 * second server fails only its tenants' work, as "database unavailable" (503 over HTTP); the other
 * server's tenants go on. After a restart its tenants recover within 5 seconds.
 */

const id = randomBytes(4).toString('hex');
const OWNER = `bt_owner_${id}`;
const RUNTIME = `bt_app_${id}`;

interface Placed extends SeededTenantDatabase {
  readonly server: 'main' | 'second';
  readonly runtimeUrl: string;
}

async function asSuperuser(base: string, statements: string[]): Promise<void> {
  const client = new Client({ connectionString: base });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

const roles = [
  `CREATE ROLE ${OWNER} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS`,
  `CREATE ROLE ${RUNTIME} LOGIN NOSUPERUSER NOBYPASSRLS`,
];

describeWithPostgres('tenants on two PostgreSQL servers', () => {
  let second: ThrowawayPostgres;
  const placed: Placed[] = [];
  let router: DatabaseTenantRouter;
  let transactions: TenantTransactions;
  const provisioner = new TenantDatabaseProvisioner({ runtimeRole: RUNTIME });

  beforeAll(async () => {
    second = await startThrowawayPostgres();
    const servers = { main: ADMIN_URL, second: second.url('postgres', 'postgres') };
    await asSuperuser(servers.main, roles);
    await asSuperuser(servers.second, roles);
    for (const [index, server] of (['main', 'main', 'second', 'second'] as const).entries()) {
      const tenant = newTenant(`t${index}`);
      const database = `bt_${id}_${tenant.slug}`;
      const ownerUrl = roleUrl(servers[server], OWNER, database);
      await provisioner.provision(ownerUrl);
      await seedTenantDatabase(ownerUrl, tenant);
      placed.push({ ...tenant, server, runtimeUrl: roleUrl(servers[server], RUNTIME, database) });
    }
    router = new DatabaseTenantRouter(
      { cacheSize: 10, connectionBudget: 20, idleMs: 60_000, waitMs: 2_000 },
      async (tenantId) => placed.find((tenant) => tenant.id === tenantId)!.runtimeUrl,
      openTenantDataSource,
    );
    const control = await openTenantDataSource(placed[0].runtimeUrl, 1);
    transactions = new TenantTransactions(
      control,
      new ClsService(new AsyncLocalStorage()),
      undefined,
      router,
    );
  }, 120_000);

  afterAll(async () => {
    await router?.close();
    second?.destroy();
    await asSuperuser(ADMIN_URL, [
      ...placed
        .filter((tenant) => tenant.server === 'main')
        .map((tenant) => `DROP DATABASE IF EXISTS bt_${id}_${tenant.slug} WITH (FORCE)`),
      `DROP ROLE IF EXISTS ${RUNTIME}`,
      `DROP ROLE IF EXISTS ${OWNER}`,
    ]);
  }, 60_000);

  /** Reads each tenant's boards; an unavailable database is reported as such, anything else thrown. */
  async function readAll(): Promise<Map<string, string[] | 'unavailable'>> {
    const outcomes = new Map<string, string[] | 'unavailable'>();
    await Promise.all(
      placed.map(async (tenant) => {
        try {
          const rows = await transactions.read<{ title: string }>(
            tenant.id,
            'SELECT title FROM boards',
            [],
          );
          outcomes.set(
            tenant.slug,
            rows.map((row) => row.title),
          );
        } catch (err) {
          if (!isDatabaseUnavailable(err)) throw err;
          outcomes.set(tenant.slug, 'unavailable');
        }
      }),
    );
    return outcomes;
  }

  const expected = (server: 'main' | 'second') =>
    placed.filter((tenant) => tenant.server === server).map((t) => [t.slug, [t.boardTitle]]);

  it('serves tenants on both servers; stopping one fails only its tenants; they recover within 5 s', async () => {
    expect([...(await readAll())].sort()).toEqual([...expected('main'), ...expected('second')]);

    second.stop();
    for (let round = 0; round < 3; round++) {
      const outcomes = await readAll();
      for (const [slug, titles] of expected('main'))
        expect(outcomes.get(slug as string)).toEqual(titles);
      for (const [slug] of expected('second'))
        expect(outcomes.get(slug as string)).toBe('unavailable');
    }

    second.start();
    const restarted = Date.now();
    let recovered: number | undefined;
    while (Date.now() - restarted < 10_000) {
      const outcomes = await readAll();
      if ([...outcomes.values()].every((value) => value !== 'unavailable')) {
        recovered = Date.now() - restarted;
        expect([...outcomes].sort()).toEqual([...expected('main'), ...expected('second')]);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBeDefined();
    expect(recovered).toBeLessThan(5_000);
  }, 120_000);
});
