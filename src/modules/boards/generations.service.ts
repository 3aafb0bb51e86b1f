import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage } from 'src/common/pagination';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import type { Actor } from 'src/core/context/tenant-context';
import { BoardPermissions } from './board-permissions';
import { BoardErrors } from './boards.errors';
import { BoardsService, relationOf } from './boards.service';
import type { CreateGenerationDto } from './dto/create-generation.dto';
import {
  toGenerationResponse,
  type GenerationPageResponse,
  type GenerationResponse,
} from './dto/generation.response';
import type { ListGenerationsQuery } from './dto/list-generations.query';
import type { Generation } from './generation.entity';
import { GenerationsRepository } from './generations.repository';
import { AuditService } from 'src/modules/audit/audit.service';

const CANCELLABLE = new Set(['pending', 'processing']);

/** Generations are records on a board; no AI provider is called here. */
@Injectable()
export class GenerationsService {
  constructor(
    private readonly boards: BoardsService,
    private readonly generations: GenerationsRepository,
    private readonly audit: AuditService,
    private readonly config: BoardsConfig,
    private readonly transactions: TenantTransactions,
  ) {}

  async create(
    actor: Actor,
    boardId: string,
    dto: CreateGenerationDto,
  ): Promise<GenerationResponse> {
    const view = await this.boards.readable(actor, boardId);
    if (!BoardPermissions.canCreateGeneration(relationOf(view, actor)))
      throw BoardErrors.forbidden('create generations');
    const generation = await this.generations.insert({
      tenantId: actor.tenantId,
      boardId,
      userId: actor.userId,
      generatorName: dto.generator_name,
      artifactType: dto.artifact_type,
      inputParams: dto.input_params ?? {},
    });
    await this.record(actor, 'generation.create', generation.id, {
      board_id: boardId,
      generator_name: dto.generator_name,
    });
    return toGenerationResponse(generation);
  }

  async list(
    actor: Actor,
    boardId: string,
    query: ListGenerationsQuery,
  ): Promise<GenerationPageResponse> {
    this.transactions.listBudget?.check(actor.tenantId);
    await this.boards.readable(actor, boardId);
    const limit = query.limit ?? 20;
    const rows = await this.generations.list({
      tenantId: actor.tenantId,
      boardId,
      status: query.status,
      artifactType: query.artifact_type,
      limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    return toPage(
      rows,
      limit,
      (g) => ({ value: g.createdAt.toISOString(), id: g.id }),
      toGenerationResponse,
      {
        bytesOf: (g) => g.payloadBytes,
        maxBytes: this.config.listPageMaxBytes,
        spent: (bytes) => this.transactions.listBudget?.spend(actor.tenantId, bytes),
      },
    );
  }

  async get(actor: Actor, generationId: string): Promise<GenerationResponse> {
    return toGenerationResponse((await this.readable(actor, generationId)).generation);
  }

  async cancel(actor: Actor, generationId: string): Promise<GenerationResponse> {
    const { generation, canControl } = await this.readable(actor, generationId, true);
    if (!canControl) throw BoardErrors.forbidden('cancel this generation');
    if (!CANCELLABLE.has(generation.status)) throw BoardErrors.notCancellable(generation.status);
    await this.generations.cancel({ tenantId: actor.tenantId, generationId });
    await this.record(actor, 'generation.cancel', generationId, { board_id: generation.boardId });
    return this.get(actor, generationId);
  }

  async remove(actor: Actor, generationId: string): Promise<void> {
    const { generation, canControl } = await this.readable(actor, generationId, true);
    if (!canControl) throw BoardErrors.forbidden('delete this generation');
    await this.generations.delete({ tenantId: actor.tenantId, generationId });
    await this.record(actor, 'generation.delete', generationId, { board_id: generation.boardId });
  }

  private record(
    actor: Actor,
    action: string,
    generationId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record({
      tenantId: actor.tenantId,
      action,
      targetType: 'generation',
      targetId: generationId,
      details,
    });
  }

  /** The generation when its board is readable by the caller; otherwise 404 like a missing one. */
  private async readable(
    actor: Actor,
    generationId: string,
    lock = false,
  ): Promise<{ generation: Generation; canControl: boolean }> {
    const generation = await this.generations.find({
      tenantId: actor.tenantId,
      generationId,
      lock,
    });
    if (!generation) throw BoardErrors.generationNotFound();
    const view = await this.boards.readable(actor, generation.boardId).catch((err: unknown) => {
      // An unreadable board hides its generations: the same 404 as a missing generation.
      throw err instanceof DomainError && err.code === ErrorCode.NotFound
        ? BoardErrors.generationNotFound()
        : err;
    });
    const canControl = BoardPermissions.canControlGeneration(
      relationOf(view, actor),
      generation.userId === actor.userId,
    );
    return { generation, canControl };
  }
}
