import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, LIST_QUERY_ERRORS } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { UuidParam } from 'src/common/uuid-param';
import { TenantContext } from 'src/core/context/tenant-context';
import { CreateGenerationDto } from './dto/create-generation.dto';
import { GenerationPageResponse, GenerationResponse } from './dto/generation.response';
import { ListGenerationsQuery } from './dto/list-generations.query';
import { GenerationsService } from './generations.service';
import { IdempotentWrite } from './idempotent-write.decorator';

@TenantBoundApi('generations')
@Controller()
export class GenerationsController {
  constructor(
    private readonly generations: GenerationsService,
    private readonly context: TenantContext,
  ) {}

  @Get('boards/:board_id/generations')
  @ApiOperation({
    summary: 'List the generations of a board, newest first',
    operationId: 'listGenerations',
  })
  @ApiOkResponse({ type: GenerationPageResponse })
  @ApiErrors('invalid_uuid', ...LIST_QUERY_ERRORS, 'board_not_found', 'list_budget_exhausted')
  list(
    @UuidParam('board_id') boardId: string,
    @Query() query: ListGenerationsQuery,
  ): Promise<GenerationPageResponse> {
    return this.generations.list(this.context.actor(), boardId, query);
  }

  @Post('boards/:board_id/generations')
  @IdempotentWrite()
  @ApiOperation({
    summary: 'Record a new generation (status pending) on a board',
    operationId: 'createGeneration',
  })
  @ApiCreatedResponse({ type: GenerationResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'board_not_found',
    'board_permission_denied',
    'quota_exceeded',
  )
  create(
    @UuidParam('board_id') boardId: string,
    @Body() dto: CreateGenerationDto,
  ): Promise<GenerationResponse> {
    return this.generations.create(this.context.actor(), boardId, dto);
  }

  @Get('generations/:generation_id')
  @ApiOperation({ summary: 'Get a generation', operationId: 'getGeneration' })
  @ApiOkResponse({ type: GenerationResponse })
  @ApiErrors('invalid_uuid', 'generation_not_found')
  get(@UuidParam('generation_id') generationId: string): Promise<GenerationResponse> {
    return this.generations.get(this.context.actor(), generationId);
  }

  @Post('generations/:generation_id/cancel')
  @HttpCode(200)
  @IdempotentWrite()
  @ApiOperation({
    summary: 'Cancel a pending or processing generation',
    operationId: 'cancelGeneration',
  })
  @ApiOkResponse({ type: GenerationResponse })
  @ApiErrors(
    'invalid_uuid',
    'generation_not_found',
    'board_permission_denied',
    'generation_not_cancellable',
  )
  cancel(@UuidParam('generation_id') generationId: string): Promise<GenerationResponse> {
    return this.generations.cancel(this.context.actor(), generationId);
  }

  @Delete('generations/:generation_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a generation', operationId: 'deleteGeneration' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors('invalid_uuid', 'generation_not_found', 'board_permission_denied')
  async remove(@UuidParam('generation_id') generationId: string): Promise<void> {
    await this.generations.remove(this.context.actor(), generationId);
  }
}
