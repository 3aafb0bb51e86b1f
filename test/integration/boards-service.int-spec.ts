import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TenantContext, type Actor } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { createApp } from 'src/main';
import { BoardMembersService } from 'src/modules/boards/board-members.service';
import { BoardsService } from 'src/modules/boards/boards.service';
import type { BoardResponse } from 'src/modules/boards/dto/board.response';
import { GenerationsService } from 'src/modules/boards/generations.service';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/** The boards services against the real database, as a given actor, without HTTP. */
describe('boards services', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let tenantId: string;
  let owner: Actor;
  let viewer: Actor;
  let stranger: Actor;

  async function as<T>(actor: Actor, work: () => Promise<T>): Promise<T> {
    const context = app.get(TenantContext);
    const transactions = app.get(TenantTransactions);
    return context.run(async () => {
      context.setTenant({ id: actor.tenantId, slug: 'boards-svc' });
      context.setUser({ id: actor.userId, role: actor.tenantRole });
      return transactions.run(actor.tenantId, () => work());
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await createApp(db.config({ BOARDS_TENANT_SLUG: 'boards-svc' }), {
      databaseTarget: db.target,
    });
    [{ id: tenantId }] = await db.owner.query(`SELECT id FROM tenants WHERE slug = 'boards-svc'`);
    const users = (await db.owner.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
      return manager.query(
        `INSERT INTO users (auth_provider, auth_subject, display_name, email)
         SELECT 'test', s, s, s || '@example.com' FROM unnest(ARRAY['owner','viewer','stranger']) s RETURNING id, auth_subject`,
      );
    })) as { id: string; auth_subject: string }[];
    const idOf = (subject: string) => users.find((u) => u.auth_subject === subject)!.id;
    owner = { tenantId, userId: idOf('owner'), tenantRole: 'admin' };
    viewer = { tenantId, userId: idOf('viewer'), tenantRole: 'member' };
    stranger = { tenantId, userId: idOf('stranger'), tenantRole: 'member' };
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('creates, lists with cursor pagination, updates with versions and enforces permissions', async () => {
    const boards = app.get(BoardsService);
    const created: BoardResponse[] = [];
    for (let i = 0; i < 5; i++) {
      created.push(
        await as(owner, () =>
          boards.create(owner, { title: `Board ${i} 100%_done`, is_public: i === 0 }),
        ),
      );
    }
    expect(created[0].version).toBe(1);
    expect(created[0].my_role).toBe('owner');

    const first = await as(owner, () => boards.list(owner, { limit: 2 }));
    expect(first.items).toHaveLength(2);
    const second = await as(owner, () =>
      boards.list(owner, { limit: 2, cursor: first.next_cursor! }),
    );
    const third = await as(owner, () =>
      boards.list(owner, { limit: 2, cursor: second.next_cursor! }),
    );
    const ids = [...first.items, ...second.items, ...third.items].map((b) => b.id);
    expect(new Set(ids).size).toBe(5);
    expect(third.next_cursor).toBeNull();

    const search = await as(owner, () => boards.list(owner, { q: '100%_' }));
    expect(search.items).toHaveLength(5);
    const noMatch = await as(owner, () => boards.list(owner, { q: '100%x' }));
    expect(noMatch.items).toHaveLength(0);

    // The stranger sees the public board only; the private ones are 404.
    const strangerList = await as(stranger, () => boards.list(stranger, {}));
    expect(strangerList.items.map((b) => b.id)).toEqual([created[0].id]);
    await expect(as(stranger, () => boards.get(stranger, created[1].id))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      as(stranger, () => boards.update(stranger, created[0].id, { title: 'x' }, undefined)),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    const updated = await as(owner, () =>
      boards.update(owner, created[1].id, { title: 'Renamed' }, `"${created[1].id}.1"`),
    );
    expect(updated.version).toBe(2);
    await expect(
      as(owner, () =>
        boards.update(owner, created[1].id, { title: 'Again' }, `"${created[1].id}.1"`),
      ),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('adds members and lets editors create generations while viewers cannot', async () => {
    const boards = app.get(BoardsService);
    const members = app.get(BoardMembersService);
    const generations = app.get(GenerationsService);
    const board = await as(owner, () => boards.create(owner, { title: 'Members' }));
    await as(owner, () => members.add(owner, board.id, { user_id: viewer.userId, role: 'viewer' }));
    const list = await as(viewer, () => members.list(viewer, board.id));
    expect(list.items).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain('@example.com');
    await expect(
      as(viewer, () =>
        generations.create(viewer, board.id, { generator_name: 'flux', artifact_type: 'image' }),
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await as(owner, () => members.changeRole(owner, board.id, viewer.userId, { role: 'editor' }));
    const generation = await as(viewer, () =>
      generations.create(viewer, board.id, {
        generator_name: 'flux',
        artifact_type: 'image',
        input_params: { prompt: 'cat' },
      }),
    );
    expect(generation.status).toBe('pending');
    const cancelled = await as(viewer, () => generations.cancel(viewer, generation.id));
    expect(cancelled.status).toBe('cancelled');
    await expect(as(viewer, () => generations.cancel(viewer, generation.id))).rejects.toMatchObject(
      { code: 'CONFLICT' },
    );
    const page = await as(owner, () => generations.list(owner, board.id, { status: 'cancelled' }));
    expect(page.items.map((g) => g.id)).toEqual([generation.id]);

    const transferred = await as(owner, () =>
      boards.transfer(owner, board.id, { new_owner_id: viewer.userId }),
    );
    expect(transferred.owner_id).toBe(viewer.userId);
    const afterTransfer = await as(owner, () => boards.get(owner, board.id));
    expect(afterTransfer.my_role).toBe('admin');
  });
});
