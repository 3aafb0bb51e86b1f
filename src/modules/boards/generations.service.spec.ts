import { encodeCursor } from 'src/common/pagination';
import { loadConfig } from 'src/core/config/boards-config';
import { ListBudgetError, type TenantBudget } from 'src/core/database/tenant-pool-share';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ErrorCode } from 'src/core/errors/error-code';
import type { AuditService } from 'src/modules/audit/audit.service';
import type { BoardMembersRepository } from './board-members.repository';
import type { BoardKey, BoardsRepository, BoardView } from './boards.repository';
import { BoardsService } from './boards.service';
import { Generation, type GenerationStatus } from './generation.entity';
import type { GenerationKey, GenerationsRepository, NewGeneration } from './generations.repository';
import { GenerationsService } from './generations.service';
import {
  actor,
  BOARD,
  BOARD_NOT_FOUND,
  boardRow,
  forbidden,
  MEMBER_ROLES,
  refusal,
  TENANT,
  USER,
  type Who,
} from 'test/factories/board-rules';
import { strictMock } from 'test/support/strict-mock';

/**
 * Generation rules at the service level: who creates and lists generations on a board, who
 * cancels and deletes which generation, how an unreadable board hides its generations, which
 * audit events are written and what a list page spends of the tenant's byte budget. The board is
 * read through the real BoardsService over a strict fake of its repository.
 */

const GENERATION = 'a0000000-0000-4000-8000-000000000001';

const GENERATION_NOT_FOUND = { code: ErrorCode.NotFound, detail: 'Generation not found.' };

function generationRow(overrides: Partial<Generation> = {}): Generation {
  return Object.assign(new Generation(), {
    tenantId: TENANT,
    id: GENERATION,
    boardId: BOARD,
    userId: USER.editor,
    generatorName: 'flux',
    artifactType: 'image',
    inputParams: {},
    status: 'pending',
    storageUrl: null,
    thumbnailUrl: null,
    outputMetadata: {},
    progress: 0,
    errorMessage: null,
    startedAt: null,
    completedAt: null,
    payloadBytes: 100,
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    updatedAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  });
}

function setup(
  options: {
    isPublic?: boolean;
    boardExists?: boolean;
    boardReadFails?: Error;
    generation?: Partial<Generation> | null;
    listed?: Generation[];
    listPageMaxBytes?: number;
    budget?: Partial<Record<'check' | 'spend', unknown>>;
  } = {},
) {
  const board = boardRow({
    isPublic: options.isPublic ?? false,
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  });
  const findView = jest.fn(
    async (key: BoardKey & { userId: string; lock?: boolean }): Promise<BoardView | null> => {
      if (options.boardReadFails) throw options.boardReadFails;
      return (options.boardExists ?? true) && key.tenantId === TENANT && key.boardId === BOARD
        ? { board, owner: null, memberRole: MEMBER_ROLES.get(key.userId) ?? null, payloadBytes: 0 }
        : null;
    },
  );
  const boards = new BoardsService(
    strictMock<BoardsRepository>({ findView }),
    strictMock<BoardMembersRepository>(),
    strictMock<AuditService>(),
    loadConfig({}),
    strictMock<TenantTransactions>(),
  );

  let stored =
    options.generation === null ? undefined : generationRow(options.generation ?? undefined);
  const log: string[] = [];
  const generations = {
    find: jest.fn(async (key: GenerationKey & { lock?: boolean }) =>
      stored && key.tenantId === TENANT && key.generationId === stored.id
        ? Object.assign(new Generation(), stored)
        : null,
    ),
    list: jest.fn(async () => {
      log.push('generations.list');
      return options.listed ?? [];
    }),
    insert: jest.fn(async (row: NewGeneration) =>
      generationRow({
        id: 'a0000000-0000-4000-8000-000000000099',
        userId: row.userId,
        generatorName: row.generatorName,
        artifactType: row.artifactType,
        inputParams: row.inputParams,
      }),
    ),
    cancel: jest.fn(async () => {
      if (stored) stored = Object.assign(new Generation(), stored, { status: 'cancelled' });
    }),
    delete: jest.fn(async () => {
      stored = undefined;
      return true;
    }),
  };
  const record = jest.fn(async () => undefined);
  const budget = {
    check: jest.fn(() => {
      log.push('budget.check');
    }),
    spend: jest.fn(),
    ...options.budget,
  };
  const service = new GenerationsService(
    boards,
    strictMock<GenerationsRepository>(generations),
    strictMock<AuditService>({ record }),
    loadConfig({ BOARDS_LIST_PAGE_MAX_BYTES: String(options.listPageMaxBytes ?? 262_144) }),
    strictMock<TenantTransactions>({ listBudget: strictMock<TenantBudget>(budget) }),
  );
  return { service, findView, generations, record, budget, log };
}

describe('GenerationsService', () => {
  describe('create', () => {
    it.each<Who>(['owner', 'admin', 'editor'])(
      'the %s creates a generation on the board; it is audited',
      async (who) => {
        const { service, generations, record } = setup();
        const created = await service.create(actor(who), BOARD, {
          generator_name: 'flux',
          artifact_type: 'image',
        });
        expect(generations.insert).toHaveBeenCalledWith({
          tenantId: TENANT,
          boardId: BOARD,
          userId: USER[who],
          generatorName: 'flux',
          artifactType: 'image',
          inputParams: {},
        });
        expect(record).toHaveBeenCalledWith({
          tenantId: TENANT,
          action: 'generation.create',
          targetType: 'generation',
          targetId: created.id,
          details: { board_id: BOARD, generator_name: 'flux' },
        });
        expect(created).toMatchObject({ board_id: BOARD, user_id: USER[who], status: 'pending' });
      },
    );

    it('a viewer, and a stranger on a public board, may not create (403)', async () => {
      for (const [who, isPublic] of [
        ['viewer', false],
        ['stranger', true],
      ] as const) {
        const { service, generations, record } = setup({ isPublic });
        expect(
          await refusal(
            service.create(actor(who), BOARD, { generator_name: 'flux', artifact_type: 'text' }),
          ),
        ).toMatchObject(forbidden('create generations'));
        expect(generations.insert).not.toHaveBeenCalled();
        expect(record).not.toHaveBeenCalled();
      }
    });

    it('a stranger on a private board, and a missing board, are the board’s 404', async () => {
      const dto = { generator_name: 'flux', artifact_type: 'text' as const };
      expect(await refusal(setup().service.create(actor('stranger'), BOARD, dto))).toMatchObject(
        BOARD_NOT_FOUND,
      );
      expect(
        await refusal(setup({ boardExists: false }).service.create(actor('owner'), BOARD, dto)),
      ).toMatchObject(BOARD_NOT_FOUND);
    });
  });

  describe('list', () => {
    const listed = (n: number, payloadBytes: number) =>
      generationRow({
        id: `a0000000-0000-4000-8000-00000000010${n}`,
        payloadBytes,
        createdAt: new Date(Date.UTC(2025, 0, 10 - n)),
      });

    it.each<Who>(['owner', 'admin', 'editor', 'viewer'])(
      'the %s lists a private board’s generations',
      async (who) => {
        const { service, generations } = setup({ listed: [listed(1, 10)] });
        const page = await service.list(actor(who), BOARD, {});
        expect(page.items.map((item) => item.id)).toEqual([listed(1, 10).id]);
        expect(generations.list).toHaveBeenCalledWith({
          tenantId: TENANT,
          boardId: BOARD,
          status: undefined,
          artifactType: undefined,
          limit: 20,
          after: undefined,
        });
      },
    );

    it('passes filters and the cursor on', async () => {
      const { service, generations } = setup();
      const position = { value: '2025-01-05T00:00:00.000Z', id: GENERATION };
      await service.list(actor('viewer'), BOARD, {
        status: 'failed',
        artifact_type: 'video',
        limit: 5,
        cursor: encodeCursor(position),
      });
      expect(generations.list).toHaveBeenCalledWith({
        tenantId: TENANT,
        boardId: BOARD,
        status: 'failed',
        artifactType: 'video',
        limit: 5,
        after: position,
      });
    });

    it('a stranger lists a public board’s generations; a private board is a 404', async () => {
      await expect(
        setup({ isPublic: true }).service.list(actor('stranger'), BOARD, {}),
      ).resolves.toEqual({ items: [], next_cursor: null });
      const { service, generations } = setup();
      expect(await refusal(service.list(actor('stranger'), BOARD, {}))).toMatchObject(
        BOARD_NOT_FOUND,
      );
      expect(generations.list).not.toHaveBeenCalled();
    });

    it('checks the list budget before anything: exhausted is a 429 and nothing is read', async () => {
      const { service, findView, generations, budget } = setup({
        budget: {
          check: jest.fn(() => {
            throw new ListBudgetError(5);
          }),
        },
      });
      const error = await refusal(service.list(actor('owner'), BOARD, {}));
      expect(error).toBeInstanceOf(ListBudgetError);
      expect(error).toMatchObject({
        code: ErrorCode.RateLimited,
        apiCode: 'list_budget_exhausted',
      });
      expect(budget.check).toHaveBeenCalledWith(TENANT);
      expect(findView).not.toHaveBeenCalled();
      expect(generations.list).not.toHaveBeenCalled();
    });

    it('spends the stored bytes of the rows on the page, after checking', async () => {
      const { service, budget, log } = setup({
        listed: [listed(1, 300), listed(2, 200), listed(3, 5_000)],
      });
      const page = await service.list(actor('viewer'), BOARD, { limit: 2 });
      expect(page.items).toHaveLength(2);
      expect(page.next_cursor).not.toBeNull();
      expect(log).toEqual(['budget.check', 'generations.list']);
      expect(budget.spend).toHaveBeenCalledTimes(1);
      expect(budget.spend).toHaveBeenCalledWith(TENANT, 500);
    });

    it('ends a page early at BOARDS_LIST_PAGE_MAX_BYTES', async () => {
      const { service, budget } = setup({
        listPageMaxBytes: 1_024,
        listed: [listed(1, 700), listed(2, 700)],
      });
      const page = await service.list(actor('viewer'), BOARD, { limit: 10 });
      expect(page.items.map((item) => item.id)).toEqual([listed(1, 0).id]);
      expect(page.next_cursor).toBe(
        encodeCursor({ value: listed(1, 0).createdAt.toISOString(), id: listed(1, 0).id }),
      );
      expect(budget.spend).toHaveBeenCalledWith(TENANT, 700);
    });
  });

  describe('get', () => {
    it.each<Who>(['owner', 'viewer'])('the %s reads a generation of the board', async (who) => {
      const { service, generations } = setup();
      await expect(service.get(actor(who), GENERATION)).resolves.toMatchObject({
        id: GENERATION,
        board_id: BOARD,
      });
      expect(generations.find).toHaveBeenCalledWith({
        tenantId: TENANT,
        generationId: GENERATION,
        lock: false,
      });
    });

    it('a missing generation is a 404', async () => {
      expect(
        await refusal(setup({ generation: null }).service.get(actor('owner'), GENERATION)),
      ).toMatchObject(GENERATION_NOT_FOUND);
    });

    it('a generation on a board the caller cannot read is the generation’s 404, not the board’s', async () => {
      expect(await refusal(setup().service.get(actor('stranger'), GENERATION))).toMatchObject(
        GENERATION_NOT_FOUND,
      );
      expect(
        await refusal(setup({ boardExists: false }).service.get(actor('owner'), GENERATION)),
      ).toMatchObject(GENERATION_NOT_FOUND);
    });

    it('a generation on a public board is readable by anyone in the tenant', async () => {
      await expect(
        setup({ isPublic: true }).service.get(actor('stranger'), GENERATION),
      ).resolves.toMatchObject({ id: GENERATION });
    });

    it('an error other than not-found while reading the board passes unchanged', async () => {
      const failure = new Error('connection lost');
      await expect(
        setup({ boardReadFails: failure }).service.get(actor('owner'), GENERATION),
      ).rejects.toBe(failure);
    });
  });

  describe('cancel', () => {
    const controls: [Who, Who][] = [
      ['owner', 'editor'],
      ['owner', 'owner'],
      ['admin', 'admin'],
      ['editor', 'editor'],
    ];

    it.each(controls)(
      'the %s cancels a pending generation created by the %s; it is audited',
      async (who, creator) => {
        const { service, generations, record } = setup({ generation: { userId: USER[creator] } });
        const cancelled = await service.cancel(actor(who), GENERATION);
        expect(generations.find).toHaveBeenNthCalledWith(1, {
          tenantId: TENANT,
          generationId: GENERATION,
          lock: true,
        });
        expect(generations.cancel).toHaveBeenCalledWith({
          tenantId: TENANT,
          generationId: GENERATION,
        });
        expect(record).toHaveBeenCalledWith({
          tenantId: TENANT,
          action: 'generation.cancel',
          targetType: 'generation',
          targetId: GENERATION,
          details: { board_id: BOARD },
        });
        expect(cancelled.status).toBe('cancelled');
      },
    );

    it.each<[Who, Who]>([
      ['admin', 'editor'],
      ['editor', 'admin'],
      ['editor', 'owner'],
      ['viewer', 'viewer'],
      ['viewer', 'editor'],
    ])('the %s may not cancel one created by the %s (403)', async (who, creator) => {
      const { service, generations, record } = setup({ generation: { userId: USER[creator] } });
      expect(await refusal(service.cancel(actor(who), GENERATION))).toMatchObject(
        forbidden('cancel this generation'),
      );
      expect(generations.cancel).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
    });

    it('a stranger gets the generation’s 404 on a private board, 403 on a public one', async () => {
      expect(await refusal(setup().service.cancel(actor('stranger'), GENERATION))).toMatchObject(
        GENERATION_NOT_FOUND,
      );
      expect(
        await refusal(setup({ isPublic: true }).service.cancel(actor('stranger'), GENERATION)),
      ).toMatchObject(forbidden('cancel this generation'));
    });

    it('a processing generation can be cancelled too', async () => {
      const { service, generations } = setup({ generation: { status: 'processing' } });
      await service.cancel(actor('owner'), GENERATION);
      expect(generations.cancel).toHaveBeenCalledTimes(1);
    });

    it.each<GenerationStatus>(['completed', 'failed', 'cancelled'])(
      'a %s generation cannot be cancelled (409)',
      async (status) => {
        const { service, generations, record } = setup({ generation: { status } });
        expect(await refusal(service.cancel(actor('owner'), GENERATION))).toMatchObject({
          code: ErrorCode.Conflict,
          detail: `Only pending or processing generations can be cancelled; this one is ${status}.`,
        });
        expect(generations.cancel).not.toHaveBeenCalled();
        expect(record).not.toHaveBeenCalled();
      },
    );

    it('the right is checked before the status: a viewer gets 403 on a completed one', async () => {
      expect(
        await refusal(
          setup({ generation: { status: 'completed', userId: USER.viewer } }).service.cancel(
            actor('viewer'),
            GENERATION,
          ),
        ),
      ).toMatchObject(forbidden('cancel this generation'));
    });
  });

  describe('remove', () => {
    it.each<[Who, Who]>([
      ['owner', 'editor'],
      ['admin', 'admin'],
      ['editor', 'editor'],
    ])('the %s deletes one created by the %s; it is audited', async (who, creator) => {
      const { service, generations, record } = setup({
        generation: { userId: USER[creator], status: 'completed' },
      });
      await service.remove(actor(who), GENERATION);
      expect(generations.find).toHaveBeenCalledWith(expect.objectContaining({ lock: true }));
      expect(generations.delete).toHaveBeenCalledWith({
        tenantId: TENANT,
        generationId: GENERATION,
      });
      expect(record).toHaveBeenCalledWith({
        tenantId: TENANT,
        action: 'generation.delete',
        targetType: 'generation',
        targetId: GENERATION,
        details: { board_id: BOARD },
      });
    });

    it.each<[Who, Who]>([
      ['admin', 'editor'],
      ['editor', 'owner'],
      ['viewer', 'viewer'],
    ])('the %s may not delete one created by the %s (403)', async (who, creator) => {
      const { service, generations, record } = setup({ generation: { userId: USER[creator] } });
      expect(await refusal(service.remove(actor(who), GENERATION))).toMatchObject(
        forbidden('delete this generation'),
      );
      expect(generations.delete).not.toHaveBeenCalled();
      expect(record).not.toHaveBeenCalled();
    });

    it('a missing generation, or one on a private board of others, is a 404', async () => {
      expect(
        await refusal(setup({ generation: null }).service.remove(actor('owner'), GENERATION)),
      ).toMatchObject(GENERATION_NOT_FOUND);
      const { service, generations } = setup();
      expect(await refusal(service.remove(actor('stranger'), GENERATION))).toMatchObject(
        GENERATION_NOT_FOUND,
      );
      expect(generations.delete).not.toHaveBeenCalled();
    });
  });
});
