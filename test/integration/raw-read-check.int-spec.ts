import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantIsolationViolationError } from 'src/core/errors/domain-error';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { createApp } from 'src/main';
import { UsersRepository } from 'src/modules/auth/users.repository';
import { BoardsRepository } from 'src/modules/boards/boards.repository';
import { InvitationsRepository } from 'src/modules/tenants/invitations.repository';
import { MembersRepository } from 'src/modules/tenants/members.repository';
import { createTenant, seedTenantGraph, uniqueMarker, type TenantGraph } from 'test/factories/seed';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Every plain-SQL read path goes through TenantScopedRepository.select, which checks each row
 * against the request's tenant (DESIGN.md §1). Here a request bound to tenant A asks each path
 * for tenant B's rows — as a service passing the wrong id would — on the real database, where
 * row-level security happily serves B's rows to a transaction bound to B. Each path must refuse
 * (and count) the rows; the same call for A must serve them, so the path really read rows. A path
 * that skipped the check would hand B's rows to A's request, and fail here.
 */
describe('the row check on every plain-SQL read path', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let a: TenantGraph;
  let b: TenantGraph;
  let slugA: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const tenantA = await createTenant(db.owner, uniqueMarker('reada'));
    const tenantB = await createTenant(db.owner, uniqueMarker('readb'));
    slugA = tenantA.slug;
    a = await seedTenantGraph(db.runtime, tenantA.id, tenantA.slug);
    b = await seedTenantGraph(db.runtime, tenantB.id, tenantB.slug);
    app = await createApp(db.config(), { databaseTarget: db.target });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  /** `read(graph)` run in a request bound to tenant A. */
  function asTenantA<T>(read: () => Promise<T>): Promise<T> {
    const context = app.get(TenantContext);
    return context.run(() => {
      context.setTenant({ id: a.tenantId, slug: slugA });
      return read();
    });
  }

  async function refusals(): Promise<number> {
    const metric = await app.get(MetricsService).isolationViolations.get();
    return metric.values.find((v) => v.labels.violation_type === 'cross_tenant_load')?.value ?? 0;
  }

  const paths: { name: string; read: (graph: TenantGraph) => Promise<unknown[]> }[] = [
    {
      name: 'BoardsRepository.findView',
      read: async (g) => {
        const view = await app.get(BoardsRepository).findView({
          tenantId: g.tenantId,
          boardId: g.boardId,
          userId: g.ownerId,
        });
        return view ? [view] : [];
      },
    },
    {
      name: 'BoardsRepository.list',
      read: (g) =>
        app.get(BoardsRepository).list({
          tenantId: g.tenantId,
          userId: g.ownerId,
          role: 'any',
          sort: 'updated_desc',
          limit: 10,
        }),
    },
    {
      name: 'BoardsRepository.list with a search',
      read: (g) =>
        app.get(BoardsRepository).list({
          tenantId: g.tenantId,
          userId: g.ownerId,
          role: 'any',
          search: g.marker,
          sort: 'updated_desc',
          limit: 10,
        }),
    },
    {
      name: 'UsersRepository.read',
      read: async (g) => {
        const user = await app
          .get(UsersRepository)
          .read(g.tenantId, { provider: 'test', subject: `${g.marker}-owner` });
        return user ? [user] : [];
      },
    },
    {
      name: 'MembersRepository.list',
      read: (g) => app.get(MembersRepository).list({ tenantId: g.tenantId, limit: 10 }),
    },
    {
      name: 'MembersRepository.find',
      read: async (g) => {
        const member = await app.get(MembersRepository).find(g.tenantId, g.memberId);
        return member ? [member] : [];
      },
    },
    {
      name: 'MembersRepository.successor',
      read: async (g) => {
        const member = await app.get(MembersRepository).successor(g.tenantId, g.ownerId);
        return member ? [member] : [];
      },
    },
    {
      name: 'InvitationsRepository.list',
      read: (g) => app.get(InvitationsRepository).list({ tenantId: g.tenantId, limit: 10 }),
    },
  ];

  it.each(paths.map((path) => [path.name, path.read] as const))(
    '%s: serves the request tenant its rows, refuses another tenant’s',
    async (_name, read) => {
      expect((await asTenantA(() => read(a))).length).toBeGreaterThan(0);
      const before = await refusals();
      await expect(asTenantA(() => read(b))).rejects.toThrow(TenantIsolationViolationError);
      expect(await refusals()).toBe(before + 1);
    },
  );
});
