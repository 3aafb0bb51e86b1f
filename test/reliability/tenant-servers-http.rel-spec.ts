import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { TenantDatabaseProvisioner } from 'src/core/database/tenant-database-provisioner';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { DATABASE_RETRY_AFTER_SECONDS } from 'src/core/errors/http-exception.filter';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, expectError, startApp, type Reply, type RunningApp } from 'test/support/http';
import { roleUrl } from 'test/support/tenant-databases';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';
import { startThrowawayPostgres, type ThrowawayPostgres } from 'test/support/throwaway-services';

/**
 * The scenario of tenant-servers.rel-spec.ts through HTTP, with the app started in-process and
 * BOARDS_TENANT_ISOLATION=database: four tenants, two with their database on the machine's
 * PostgreSQL server and two on a throwaway cluster this test starts (their location recorded
 * with TenantDatabases.recordLocation). Stopping the second server makes only its tenants answer
 * 503 `database_unavailable` (a generic body with Retry-After, no stack nor SQL); the others keep
 * answering 200 with their own boards. After the restart, its tenants answer 200 again within 5 s.
 */

const id = randomBytes(4).toString('hex');
const RECOVERY_LIMIT_MS = 5_000;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Placed {
  readonly id: string;
  readonly slug: string;
  readonly server: 'main' | 'second';
  readonly token: string;
  readonly boardTitle: string;
}

interface BoardsPage {
  items: { title: string }[];
}

async function withClient(url: string, work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

describeWithPostgres('tenants on two PostgreSQL servers, through HTTP', () => {
  let second: ThrowawayPostgres;
  let db: TestDatabase;
  let databases: TenantDatabases;
  let server: RunningApp;
  const placed: Placed[] = [];

  beforeAll(async () => {
    second = await startThrowawayPostgres();
    db = await createTestDatabase({ isolation: 'database' });
    const ownerRole = new URL(db.env.BOARDS_DATABASE_OWNER_URL).username;
    // The same role names as on the main server: the templates' credentials serve both servers.
    await second.sql('postgres', [
      `CREATE ROLE ${ownerRole} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS`,
      `CREATE ROLE ${db.runtimeRole} LOGIN NOSUPERUSER NOBYPASSRLS`,
    ]);
    const settings = jwtAuthEnv({
      BOARDS_MULTI_TENANT_MODE: 'true',
      BOARDS_RATE_LIMIT_ENABLED: 'false',
    });
    databases = new TenantDatabases(
      db.config(settings),
      db.runtime,
      db.target,
      undefined as unknown as TenantTransactions,
    );
    const provisioner = new TenantDatabaseProvisioner({ runtimeRole: db.runtimeRole });
    const secondServer = new URL(second.url('postgres', 'postgres'));

    for (const [index, where] of (['main', 'main', 'second', 'second'] as const).entries()) {
      const slug = `srv-${where}-${index}`;
      const tenant = await db.createTenant(slug);
      if (where === 'second') {
        const database = `bt2_${id}_${index}`;
        const ownerUrl = roleUrl(second.url('postgres', 'postgres'), ownerRole, database);
        await provisioner.provision(ownerUrl);
        await withClient(ownerUrl, async (owner) => {
          await owner.query('INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)', [
            tenant.id,
            slug,
            slug,
          ]);
        });
        await databases.recordLocation(
          tenant.id,
          `postgres://${secondServer.hostname}:${secondServer.port}/${database}`,
        );
      }
      placed.push({
        id: tenant.id,
        slug,
        server: where,
        token: hs256Token({ sub: `member-${slug}`, tenant: slug }),
        boardTitle: `board of ${slug}`,
      });
    }

    server = await startApp(db.config(settings));
    for (const tenant of placed) {
      const created = await call(server, 'POST', '/api/boards', {
        token: tenant.token,
        body: { title: tenant.boardTitle },
      });
      expect({ slug: tenant.slug, status: created.status }).toEqual({
        slug: tenant.slug,
        status: 201,
      });
    }
    // Each tenant sees its own board only: the four databases are apart.
    for (const tenant of placed) {
      const page = await boardsOf(tenant);
      expect({ slug: tenant.slug, status: page.status, titles: titles(page) }).toEqual({
        slug: tenant.slug,
        status: 200,
        titles: [tenant.boardTitle],
      });
    }
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await databases?.onApplicationShutdown();
    second?.destroy();
    await db?.drop();
  }, 60_000);

  const boardsOf = (tenant: Placed) =>
    call<BoardsPage>(server, 'GET', '/api/boards', { token: tenant.token });

  const titles = (page: Reply<BoardsPage>) =>
    page.status === 200 ? page.body.items.map((board) => board.title) : undefined;

  /** Every tenant's GET /api/boards at once: status and titles (or the error body). */
  async function readAll() {
    return Promise.all(placed.map(async (tenant) => ({ tenant, reply: await boardsOf(tenant) })));
  }

  it('serves tenants on both servers; stopping one answers 503 for its tenants only; they recover within 5 s', async () => {
    for (const { tenant, reply } of await readAll()) {
      expect({ slug: tenant.slug, status: reply.status, titles: titles(reply) }).toEqual({
        slug: tenant.slug,
        status: 200,
        titles: [tenant.boardTitle],
      });
    }

    second.stop();
    for (let round = 0; round < 3; round++) {
      const replies = await readAll();
      const main = replies.filter((r) => r.tenant.server === 'main');
      const moved = replies.filter((r) => r.tenant.server === 'second');
      expect([main.length, moved.length]).toEqual([2, 2]);
      for (const { tenant, reply } of main) {
        expect({ round, slug: tenant.slug, status: reply.status, titles: titles(reply) }).toEqual({
          round,
          slug: tenant.slug,
          status: 200,
          titles: [tenant.boardTitle],
        });
      }
      for (const { tenant, reply } of moved) {
        expect({ round, slug: tenant.slug, status: reply.status }).toEqual({
          round,
          slug: tenant.slug,
          status: 503,
        });
        expectError(
          reply,
          503,
          'Service Unavailable',
          'database_unavailable',
          'The service is temporarily unavailable. Try again shortly.',
        );
        expect(reply.headers.get('retry-after')).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
        // Nothing of the cause leaks: no stack, no SQL, no server address or role.
        expect(reply.text).not.toMatch(
          /\bat \S+ \(|SELECT|INSERT|ECONNREFUSED|127\.0\.0\.1|bt_(app|owner)_|bt2_/,
        );
      }
    }

    second.start();
    const restarted = Date.now();
    let recovered: number | undefined;
    while (recovered === undefined && Date.now() - restarted < 2 * RECOVERY_LIMIT_MS) {
      const replies = await readAll();
      if (replies.every(({ reply }) => reply.status === 200)) {
        recovered = Date.now() - restarted;
        for (const { tenant, reply } of replies) expect(titles(reply)).toEqual([tenant.boardTitle]);
      } else {
        // Meanwhile the main server's tenants go on; the second server's wait with a 503.
        for (const { tenant, reply } of replies) {
          const allowed = tenant.server === 'main' ? [200] : [200, 503];
          expect({ slug: tenant.slug, allowed: allowed.includes(reply.status) }).toEqual({
            slug: tenant.slug,
            allowed: true,
          });
        }
        await sleep(100);
      }
    }
    expect({ recoveredWithinMs: recovered }).toEqual({
      recoveredWithinMs: expect.any(Number),
    });
    expect(recovered).toBeLessThan(RECOVERY_LIMIT_MS);
    process.stderr.write(
      `tenant servers over HTTP: second server's tenants 503 database_unavailable while it was ` +
        `down, main server's tenants 200; all 200 again ${recovered} ms after the restart\n`,
    );
  }, 120_000);
});
