import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DataSource, type EntityManager } from 'typeorm';
import { AppModule } from 'src/app.module';
import { DatabaseTarget } from 'src/core/database/data-sources';
import type { ViolationType } from 'src/core/database/tenant-entity.subscriber';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import {
  TenantContextMissingError,
  TenantIsolationViolationError,
} from 'src/core/errors/domain-error';
import { Board } from 'src/modules/boards/board.entity';
import {
  createTenant,
  inTenant,
  seedUser,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Layer 3 of the isolation design (DESIGN.md §2): the TypeORM subscriber registered by the real
 * DatabaseModule stamps tenant_id, refuses writes and loads of another tenant, and counts each
 * refusal in boards_tenant_isolation_violations_total (read through GET /metrics). The app is the
 * real AppModule; only its DatabaseTarget is the test database's, so the embedded mode shares one
 * PGlite with the seeding connections.
 */
describe('tenant ORM layer (TenantEntitySubscriber + TenantTransactions)', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let transactions: TenantTransactions;
  let dataSource: DataSource;
  let tenantA: SeededTenant;
  let tenantB: SeededTenant;
  let ownerA: string;
  let ownerB: string;
  let boardB: Board;

  beforeAll(async () => {
    db = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(db.config())],
    })
      .overrideProvider(DatabaseTarget)
      .useValue(db.target)
      .compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    transactions = app.get(TenantTransactions);
    dataSource = app.get(DataSource);

    tenantA = await createTenant(db.owner, uniqueMarker('orm-a'));
    tenantB = await createTenant(db.owner, uniqueMarker('orm-b'));
    // Boards need an owner (boards.owner_id → users); users are seeded as the owner role.
    ownerA = await seedUser(db.owner, tenantA.id, `${tenantA.slug}-owner`);
    ownerB = await seedUser(db.owner, tenantB.id, `${tenantB.slug}-owner`);
    boardB = await transactions.run(tenantB.id, (manager) =>
      manager.save(manager.create(Board, { ownerId: ownerB, title: `${tenantB.slug} board` })),
    );
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** The counter's value for one violation type, as /metrics shows it. */
  async function violations(type: ViolationType): Promise<number> {
    const response = await app
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const line = response.body
      .split('\n')
      .find((l) =>
        l.startsWith(`boards_tenant_isolation_violations_total{violation_type="${type}"} `),
      );
    return line ? Number(line.split(' ')[1]) : 0;
  }

  /** Expects `work` to throw the subscriber's error of `type` and the counter to grow by one. */
  async function expectViolation(type: ViolationType, work: () => Promise<unknown>): Promise<void> {
    const before = await violations(type);
    const error = await work().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(TenantIsolationViolationError);
    expect((error as TenantIsolationViolationError).violationType).toBe(type);
    expect(await violations(type)).toBe(before + 1);
  }

  /** Board rows with `title` as the database holds them for `tenantId` (raw SQL, no subscriber). */
  function boardsTitled(tenantId: string, title: string) {
    return inTenant(db.runtime, tenantId, (runner) =>
      runner.query(`SELECT tenant_id::text AS tenant_id, title FROM boards WHERE title = $1`, [
        title,
      ]),
    ) as Promise<{ tenant_id: string; title: string }[]>;
  }

  describe('inserts', () => {
    it('stamps the context tenant on a Board saved without tenantId', async () => {
      const title = uniqueMarker('stamped');
      const board = await transactions.run(tenantA.id, (manager) =>
        manager.save(manager.create(Board, { ownerId: ownerA, title })),
      );
      expect(board.tenantId).toBe(tenantA.id);
      expect(await boardsTitled(tenantA.id, title)).toEqual([{ tenant_id: tenantA.id, title }]);
      expect(await boardsTitled(tenantB.id, title)).toEqual([]);
    });

    it("refuses to save a Board carrying another tenant's id, and rolls the transaction back", async () => {
      const earlier = uniqueMarker('same-transaction');
      const foreign = uniqueMarker('cross-insert');
      await expectViolation('cross_tenant_insert', () =>
        transactions.run(tenantA.id, async (manager) => {
          await manager.save(manager.create(Board, { ownerId: ownerA, title: earlier }));
          return manager.save(
            manager.create(Board, { tenantId: tenantB.id, ownerId: ownerB, title: foreign }),
          );
        }),
      );
      expect(await boardsTitled(tenantB.id, foreign)).toEqual([]);
      expect(await boardsTitled(tenantA.id, foreign)).toEqual([]);
      expect(await boardsTitled(tenantA.id, earlier)).toEqual([]);
    });

    it("refuses a query-builder insert with another tenant's id", async () => {
      const foreign = uniqueMarker('cross-insert-qb');
      await expectViolation('cross_tenant_insert', () =>
        transactions.run(tenantA.id, (manager) =>
          manager.insert(Board, { tenantId: tenantB.id, ownerId: ownerB, title: foreign }),
        ),
      );
      expect(await boardsTitled(tenantB.id, foreign)).toEqual([]);
    });

    it('refuses to insert outside any tenant context', async () => {
      const title = uniqueMarker('no-context');
      const repository = dataSource.getRepository(Board);
      await expectViolation('insert_without_tenant', () =>
        repository.save(repository.create({ ownerId: ownerA, title })),
      );
      expect(await boardsTitled(tenantA.id, title)).toEqual([]);
    });
  });

  describe("writes of another tenant's entity", () => {
    async function loadBoardB(): Promise<Board> {
      return transactions.run(tenantB.id, (manager) =>
        manager.findOneByOrFail(Board, { id: boardB.id }),
      );
    }

    it("refuses to save an entity loaded for B inside A's transaction; B's row is unchanged", async () => {
      const loaded = await loadBoardB();
      expect(loaded.tenantId).toBe(tenantB.id);
      loaded.title = uniqueMarker('hijacked');
      // Under A's RLS the row is invisible, so TypeORM treats the entity as new and the
      // subscriber refuses it as a cross-tenant insert before any SQL is sent.
      await expectViolation('cross_tenant_insert', () =>
        transactions.run(tenantA.id, (manager) => manager.save(loaded)),
      );
      expect(await boardsTitled(tenantB.id, boardB.title)).toEqual([
        { tenant_id: tenantB.id, title: boardB.title },
      ]);
    });

    it("refuses to remove an entity loaded for B inside A's transaction; the row stays", async () => {
      const loaded = await loadBoardB();
      await expectViolation('cross_tenant_remove', () =>
        transactions.run(tenantA.id, (manager) => manager.remove(loaded)),
      );
      expect(await boardsTitled(tenantB.id, boardB.title)).toHaveLength(1);
    });

    it("refuses to move A's board into tenant B", async () => {
      const title = uniqueMarker('mover');
      const board = await transactions.run(tenantA.id, (manager) =>
        manager.save(manager.create(Board, { ownerId: ownerA, title })),
      );
      await expectViolation('cross_tenant_update', () =>
        transactions.run(tenantA.id, (manager) =>
          manager.update(Board, { tenantId: tenantA.id, id: board.id }, { tenantId: tenantB.id }),
        ),
      );
      expect(await boardsTitled(tenantA.id, title)).toEqual([{ tenant_id: tenantA.id, title }]);
    });

    it("an update by criteria naming B's row matches nothing under A (RLS below the ORM)", async () => {
      const result = await transactions.run(tenantA.id, (manager) =>
        manager.update(Board, { tenantId: tenantB.id, id: boardB.id }, { title: 'hijacked' }),
      );
      expect(result.affected).toBe(0);
      expect(await boardsTitled(tenantB.id, boardB.title)).toHaveLength(1);
    });

    it('refuses to write outside any tenant context', async () => {
      const loaded = await loadBoardB();
      await expectViolation('write_without_tenant', () =>
        dataSource.getRepository(Board).remove(loaded),
      );
      expect(await boardsTitled(tenantB.id, boardB.title)).toHaveLength(1);
    });
  });

  describe('loads (afterLoad)', () => {
    it('outside any tenant context, a repository query returns no rows (RLS)', async () => {
      expect(await dataSource.getRepository(Board).find()).toEqual([]);
    });

    it('refuses rows loaded outside a tenant context even when the connection has a tenant set', async () => {
      // Someone bypassed TenantTransactions and set the tenant by hand: the database hands out
      // A's rows, but the ORM layer has no tenant in context and refuses them.
      const runner = dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantA.id]);
        expect(await runner.query('SELECT count(*)::int AS n FROM boards')).toEqual([
          { n: expect.any(Number) },
        ]);
        await expectViolation('load_without_tenant', () => runner.manager.find(Board));
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    });

    it("refuses B's rows loaded inside A's transaction after the setting was switched", async () => {
      await expectViolation('cross_tenant_load', () =>
        transactions.run(tenantA.id, async (manager) => {
          await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantB.id]);
          return manager.find(Board);
        }),
      );
    });

    it("loads only the context tenant's rows inside its transaction", async () => {
      const boards = await transactions.run(tenantB.id, (manager) => manager.find(Board));
      expect(boards.map((b) => b.id)).toContain(boardB.id);
      expect(new Set(boards.map((b) => b.tenantId))).toEqual(new Set([tenantB.id]));
    });
  });

  describe('TenantTransactions', () => {
    it('manager fails closed outside a transaction', () => {
      expect(transactions.inTransaction).toBe(false);
      expect(() => transactions.manager).toThrow(TenantContextMissingError);
    });

    it('manager is the open transaction inside run, with the tenant set as its first statement', async () => {
      const seen = await transactions.run(tenantA.id, async (manager: EntityManager) => {
        const [row] = (await transactions.manager.query(
          `SELECT current_setting('app.tenant_id', true) AS tenant`,
        )) as { tenant: string }[];
        return { same: transactions.manager === manager, tenant: row.tenant };
      });
      expect(seen).toEqual({ same: true, tenant: tenantA.id });
      expect(() => transactions.manager).toThrow(TenantContextMissingError);
    });

    it.each([
      ['not a uuid', 'not-a-uuid'],
      ['empty', ''],
      ['SQL', "'; DROP TABLE boards; --"],
      ['uuid with a suffix', '00000000-0000-0000-0000-000000000000; SELECT 1'],
      ['uuid without hyphens', '00000000000000000000000000000000'],
    ])('run refuses a malformed tenant id (%s) before touching the database', async (_, id) => {
      const work = jest.fn(() => Promise.resolve('ran'));
      await expect(transactions.run(id, work)).rejects.toBeInstanceOf(TenantContextMissingError);
      expect(work).not.toHaveBeenCalled();
    });

    it('run refuses a second tenant inside an open tenant transaction', async () => {
      const inner = jest.fn(() => Promise.resolve('ran'));
      await expect(
        transactions.run(tenantA.id, () => transactions.run(tenantB.id, inner)),
      ).rejects.toBeInstanceOf(TenantContextMissingError);
      expect(inner).not.toHaveBeenCalled();
    });
  });
});
