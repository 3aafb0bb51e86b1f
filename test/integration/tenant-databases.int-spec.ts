import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { ClsService } from 'nestjs-cls';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { baseOptions } from 'src/core/database/data-sources';
import { TenantDataSources } from 'src/core/database/tenant-data-sources';
import { TenantDatabaseProvisioner } from 'src/core/database/tenant-database-provisioner';
import { tenantDatabaseUrl } from 'src/core/database/tenant-database-url';
import { DatabaseTenantRouter } from 'src/core/database/tenant-router';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import {
  inParallel,
  roleUrl,
  openTenantDataSource,
  seedTenantDatabase,
} from 'test/support/tenant-databases';

/**
 * Building blocks of BOARDS_TENANT_ISOLATION=database on the real server: the provisioner
 * (create, migrate, check, drop; every step repeatable, so a provisioning stopped half-way
 * completes on retry) and the bounded set of tenant data sources (200 tenant databases, 20 data
 * sources, 40 connections: spread traffic succeeds, each request sees only its own tenant's rows,
 * and the connections open on the server never exceed the budget).
 */

const id = randomBytes(4).toString('hex');
const OWNER = `bt_owner_${id}`;
const RUNTIME = `bt_app_${id}`;
const PREFIX = `bt_${id}_`;

const urlFor = (role: string, database: string) => roleUrl(ADMIN_URL, role, database);

const OWNER_TEMPLATE = urlFor(OWNER, `${PREFIX}{slug}`);
const RUNTIME_TEMPLATE = urlFor(RUNTIME, `${PREFIX}{slug}`);

async function admin<T>(work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const tenant = (slug: string) => ({ slug, id: randomUUID() });

describeWithPostgres('tenant databases: provisioning and bounded data sources', () => {
  const provisioner = new TenantDatabaseProvisioner({ runtimeRole: RUNTIME });

  beforeAll(async () => {
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${OWNER} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS`);
      await client.query(`CREATE ROLE ${RUNTIME} LOGIN NOSUPERUSER NOBYPASSRLS`);
    });
  });

  afterAll(async () => {
    const { rows } = await admin((client) =>
      client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `${PREFIX}%`,
      ]),
    );
    const names = rows.map((row) => row.datname);
    await inParallel(4, names, (name) =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
    );
    await admin(async (client) => {
      await client.query(`DROP ROLE IF EXISTS ${RUNTIME}`);
      await client.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
  }, 240_000);

  describe('provisioner', () => {
    it('creates and migrates a tenant database; a second run finds it done', async () => {
      const url = tenantDatabaseUrl(OWNER_TEMPLATE, tenant('alpha'));
      const steps: string[] = [];
      const first = await new TenantDatabaseProvisioner({
        runtimeRole: RUNTIME,
        onStep: (step) => void steps.push(step),
      }).provision(url);
      expect(first).toMatchObject({ database: `${PREFIX}alpha`, created: true });
      expect(first.applied.length).toBeGreaterThan(0);
      expect(steps).toEqual(['database', 'migrations', 'verified']);

      const again = await provisioner.provision(url);
      expect(again).toEqual({ database: `${PREFIX}alpha`, created: false, applied: [] });
      expect(await provisioner.check(url)).toMatchObject({ reachable: true, problems: [] });

      // Only the owner and the runtime role may connect: PUBLIC lost CONNECT.
      const grants = await admin((client) =>
        client.query<{ acl: string }>(
          `SELECT datacl::text AS acl FROM pg_database WHERE datname = $1`,
          [`${PREFIX}alpha`],
        ),
      );
      expect(grants.rows[0].acl).toContain(`${RUNTIME}=c/`);
      expect(grants.rows[0].acl).not.toMatch(/[{,]=[A-Za-z]*c/);
    });

    it('stopped between CREATE DATABASE and the migrations, the next run completes it', async () => {
      const url = tenantDatabaseUrl(OWNER_TEMPLATE, tenant('crashed'));
      const crashing = new TenantDatabaseProvisioner({
        runtimeRole: RUNTIME,
        onStep: (step) => {
          if (step === 'database') throw new Error('killed after CREATE DATABASE');
        },
      });
      await expect(crashing.provision(url)).rejects.toThrow('killed after CREATE DATABASE');
      const halfway = await provisioner.check(url);
      expect(halfway.reachable).toBe(true);
      expect(halfway.pending.length).toBeGreaterThan(0);
      expect(halfway.problems).toEqual([`${halfway.pending.length} migrations pending`]);

      const retried = await provisioner.provision(url);
      expect(retried.created).toBe(false);
      expect(retried.applied).toEqual(halfway.pending);
      expect(await provisioner.check(url)).toMatchObject({ pending: [], problems: [] });
    });

    it('drops a tenant database, and a second drop finds nothing', async () => {
      const url = tenantDatabaseUrl(OWNER_TEMPLATE, tenant('doomed'));
      await provisioner.provision(url);
      expect(await provisioner.drop(url)).toBe(true);
      expect(await provisioner.drop(url)).toBe(false);
      expect(await provisioner.check(url)).toMatchObject({ reachable: false });
    });
  });

  describe('200 tenant databases, 20 data sources, a budget of 40 connections', () => {
    const COUNT = 200;
    const tenants: { slug: string; id: string; boardTitle: string }[] = [];
    let sources: TenantDataSources;
    const runtimeUrlOf = (tenantId: string) =>
      tenantDatabaseUrl(
        RUNTIME_TEMPLATE,
        tenants.find((entry) => entry.id === tenantId)!,
      );
    /** Room for one data source of one connection; a request waits at most `waitMs` for it. */
    const oneConnection = (waitMs: number) =>
      new TenantDataSources({
        cacheSize: 1,
        connectionBudget: 1,
        idleMs: 60_000,
        waitMs,
        open: (key, poolSize) => openTenantDataSource(runtimeUrlOf(key), poolSize),
      });

    beforeAll(async () => {
      // One migrated template, copied by CREATE DATABASE … TEMPLATE (a copy costs milliseconds).
      const template = `${PREFIX}template`;
      await provisioner.provision(urlFor(OWNER, template));
      for (let i = 0; i < COUNT; i++) {
        tenants.push({ ...tenant(`t${String(i).padStart(3, '0')}`), boardTitle: `board of ${i}` });
      }
      await inParallel(4, tenants, async (entry) => {
        const owner = new Client({ connectionString: urlFor(OWNER, 'postgres') });
        await owner.connect();
        try {
          await owner.query(`CREATE DATABASE "${PREFIX}${entry.slug}" TEMPLATE "${template}"`);
          await owner.query(`GRANT CONNECT ON DATABASE "${PREFIX}${entry.slug}" TO ${RUNTIME}`);
        } finally {
          await owner.end();
        }
      });
      // Each database holds its tenant's row, a user and a board.
      await inParallel(4, tenants, (entry) =>
        seedTenantDatabase(tenantDatabaseUrl(OWNER_TEMPLATE, entry), entry),
      );
      sources = new TenantDataSources({
        cacheSize: 20,
        connectionBudget: 40,
        idleMs: 2_000,
        waitMs: 10_000,
        open: (key, poolSize) => openTenantDataSource(runtimeUrlOf(key), poolSize),
      });
    }, 240_000);

    afterAll(async () => {
      await sources?.close();
    });

    it('traffic over all of them succeeds within the budget, each request seeing only its tenant', async () => {
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        const monitor = new Client({ connectionString: ADMIN_URL });
        await monitor.connect();
        try {
          while (sampling) {
            const { rows } = await monitor.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`,
              [RUNTIME],
            );
            peak = Math.max(peak, rows[0].n);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        } finally {
          await monitor.end();
        }
      })();

      // 600 requests over the 200 tenants, 30 at a time, in a shuffled order.
      const requests = [...tenants, ...tenants, ...tenants].sort(() => Math.random() - 0.5);
      let reservedPeak = 0;
      const seen = new Map<string, string[]>();
      const worker = async () => {
        for (let next = requests.pop(); next; next = requests.pop()) {
          const entry = next;
          const titles = await sources.use(entry.id, (dataSource) =>
            dataSource.transaction(async (manager) => {
              await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [entry.id]);
              const rows = (await manager.query(
                `SELECT b.title, b.tenant_id::text AS tenant FROM boards b`,
              )) as { title: string; tenant: string }[];
              return rows.map((row) => `${row.tenant}:${row.title}`);
            }),
          );
          reservedPeak = Math.max(reservedPeak, sources.usage.reservedConnections);
          seen.set(entry.id, [...(seen.get(entry.id) ?? []), ...titles]);
        }
      };
      await Promise.all(Array.from({ length: 30 }, worker));
      sampling = false;
      await sampler;

      expect(seen.size).toBe(COUNT);
      for (const entry of tenants) {
        expect(seen.get(entry.id)).toEqual(Array(3).fill(`${entry.id}:${entry.boardTitle}`));
      }
      expect(reservedPeak).toBeLessThanOrEqual(40);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(40);
      expect(sources.usage.open).toBeLessThanOrEqual(20);
    }, 120_000);

    it("TenantTransactions routes reads and transactions to the tenant's own database", async () => {
      const [a, b] = tenants;
      const router = new DatabaseTenantRouter(
        { cacheSize: 4, connectionBudget: 8, idleMs: 60_000, waitMs: 5_000 },
        async (tenantId) => runtimeUrlOf(tenantId),
        openTenantDataSource,
      );
      const control = await new DataSource({
        ...baseOptions([], 'boards-tenant-test'),
        url: urlFor(RUNTIME, `${PREFIX}template`),
        poolSize: 1,
      }).initialize();
      const transactions = new TenantTransactions(
        control,
        new ClsService(new AsyncLocalStorage()),
        undefined,
        router,
      );
      try {
        // One-round-trip reads and full transactions both land in the tenant's database.
        const read = await transactions.read<{ title: string }>(
          a.id,
          'SELECT title FROM boards',
          [],
        );
        expect(read).toEqual([{ title: a.boardTitle }]);
        await transactions.run(b.id, async (manager) => {
          const [owner] = (await manager.query('SELECT id FROM users')) as { id: string }[];
          await manager.query('INSERT INTO boards (owner_id, title) VALUES ($1, $2)', [
            owner.id,
            'written through the router',
          ]);
        });
        const inB = await transactions.read<{ title: string }>(
          b.id,
          'SELECT title FROM boards ORDER BY title',
          [],
        );
        expect(inB.map((row) => row.title)).toEqual([b.boardTitle, 'written through the router']);
        expect(
          await transactions.read<{ title: string }>(a.id, 'SELECT title FROM boards', []),
        ).toEqual([{ title: a.boardTitle }]);
        // The shared (control) database holds no board at all.
        expect(await control.query('SELECT count(*)::int AS n FROM boards')).toEqual([{ n: 0 }]);
        expect(router.sources.usage).toMatchObject({ open: 2, leases: 0 });
      } finally {
        await router.close();
        await control.destroy();
      }
    });

    it('a data source in use is never closed to make room; others wait for it', async () => {
      const small = oneConnection(5_000);
      try {
        const [a, b] = tenants;
        const lease = await small.lease(a.id);
        let bStarted = false;
        const other = small.use(b.id, async (dataSource) => {
          bStarted = true;
          return dataSource.query('SELECT 1 AS one');
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(bStarted).toBe(false);
        expect(lease.dataSource.isInitialized).toBe(true);
        expect(await lease.dataSource.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
        lease.release();
        expect(await other).toEqual([{ one: 1 }]);
        expect(lease.dataSource.isInitialized).toBe(false);
        expect(small.usage).toMatchObject({ open: 1, reservedConnections: 1 });
      } finally {
        await small.close();
      }
    });

    it('a request waits at most waitMs when every data source stays in use', async () => {
      const small = oneConnection(200);
      try {
        const lease = await small.lease(tenants[0].id);
        await expect(small.lease(tenants[1].id)).rejects.toMatchObject({
          name: 'TenantDataSourcesBusyError',
        });
        lease.release();
      } finally {
        await small.close();
      }
    });
  });
});
