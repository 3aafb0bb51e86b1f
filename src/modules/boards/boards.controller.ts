import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, JSON_BODY_ERRORS, LIST_QUERY_ERRORS } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { UuidParam } from 'src/common/uuid-param';
import { DirectRoute } from 'src/core/http/direct-routes';
import { TenantContext } from 'src/core/context/tenant-context';
import { ReadOnlyRoute } from 'src/core/database/tenant-transaction.interceptor';
import { BoardsService } from './boards.service';
import { boardEtag, BoardPageResponse, BoardResponse } from './dto/board.response';
import { CreateBoardDto } from './dto/create-board.dto';
import { ListBoardsQuery } from './dto/list-boards.query';
import { TransferOwnershipDto } from './dto/transfer-ownership.dto';
import { UpdateBoardDto } from './dto/update-board.dto';
import { IdempotentWrite } from './idempotent-write.decorator';

@TenantBoundApi('boards')
@Controller('boards')
export class BoardsController {
  constructor(
    private readonly boards: BoardsService,
    private readonly context: TenantContext,
  ) {}

  @Get()
  @ReadOnlyRoute()
  @DirectRoute()
  @ApiOperation({
    summary: 'List the boards the caller can read (owned, member of, or public)',
    operationId: 'listBoards',
  })
  @ApiOkResponse({ type: BoardPageResponse })
  @ApiErrors(...LIST_QUERY_ERRORS, 'search_budget_exhausted', 'list_budget_exhausted')
  list(@Query() query: ListBoardsQuery): Promise<BoardPageResponse> {
    return this.boards.list(this.context.actor(), query);
  }

  @Post()
  @IdempotentWrite()
  @DirectRoute()
  @ApiOperation({ summary: 'Create a board owned by the caller', operationId: 'createBoard' })
  @ApiCreatedResponse({
    type: BoardResponse,
    description: 'Created; Location and ETag headers set',
  })
  @ApiErrors(...JSON_BODY_ERRORS, 'quota_exceeded')
  async create(
    @Body() dto: CreateBoardDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BoardResponse> {
    // Nothing of this handler touches the database after the insert.
    const board = await this.boards.create(this.context.actor(), dto, { endsRequest: true });
    void reply.header('location', `/api/boards/${board.id}`).header('etag', boardEtag(board));
    return board;
  }

  @Get(':board_id')
  @ReadOnlyRoute()
  @DirectRoute()
  @ApiOperation({ summary: 'Get a board', operationId: 'getBoard' })
  @ApiOkResponse({ type: BoardResponse, description: 'The board; ETag header set' })
  @ApiErrors('invalid_uuid', 'board_not_found')
  async get(
    @UuidParam('board_id') boardId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BoardResponse> {
    const board = await this.boards.get(this.context.actor(), boardId);
    void reply.header('etag', boardEtag(board));
    return board;
  }

  @Patch(':board_id')
  @ApiOperation({
    summary: 'Update a board (partial); If-Match makes it conditional',
    operationId: 'updateBoard',
  })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'ETag from a previous read; 412 when the board changed since',
  })
  @ApiOkResponse({ type: BoardResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'board_not_found',
    'board_permission_denied',
    'invalid_if_match',
    'etag_mismatch',
    'quota_exceeded',
  )
  async update(
    @UuidParam('board_id') boardId: string,
    @Body() dto: UpdateBoardDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BoardResponse> {
    const board = await this.boards.update(this.context.actor(), boardId, dto, ifMatch);
    void reply.header('etag', boardEtag(board));
    return board;
  }

  @Delete(':board_id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a board (owner only), with its members and generations',
    operationId: 'deleteBoard',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors('invalid_uuid', 'board_not_found', 'board_permission_denied')
  async remove(@UuidParam('board_id') boardId: string): Promise<void> {
    await this.boards.remove(this.context.actor(), boardId);
  }

  @Post(':board_id/transfer')
  @HttpCode(200)
  @IdempotentWrite()
  @ApiOperation({
    summary: 'Transfer ownership to another user of the organization (owner only)',
    operationId: 'transferBoard',
  })
  @ApiOkResponse({ type: BoardResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'board_not_found',
    'board_permission_denied',
    'user_not_found',
  )
  async transfer(
    @UuidParam('board_id') boardId: string,
    @Body() dto: TransferOwnershipDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<BoardResponse> {
    const board = await this.boards.transfer(this.context.actor(), boardId, dto);
    void reply.header('etag', boardEtag(board));
    return board;
  }
}
