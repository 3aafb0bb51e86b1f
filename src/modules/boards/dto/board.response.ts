import { ApiProperty } from '@nestjs/swagger';
import type { BoardView } from '../boards.repository';
import { PublicProfileResponse } from './public-profile.response';

export const CALLER_ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;

export class BoardResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  title: string;

  @ApiProperty({ type: String, nullable: true })
  description: string | null;

  @ApiProperty()
  is_public: boolean;

  @ApiProperty({ type: 'object', additionalProperties: true })
  settings: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true })
  metadata: Record<string, unknown>;

  @ApiProperty({ format: 'uuid' })
  owner_id: string;

  @ApiProperty({ type: PublicProfileResponse, nullable: true })
  owner: PublicProfileResponse | null;

  @ApiProperty({
    enum: CALLER_ROLES,
    nullable: true,
    description: "The caller's role on the board; null on a public board the caller is not part of",
  })
  my_role: (typeof CALLER_ROLES)[number] | null;

  @ApiProperty({ description: 'Increments on every change; the ETag carries it' })
  version: number;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class BoardPageResponse {
  @ApiProperty({ type: [BoardResponse] })
  items: BoardResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as cursor to get the next page; null on the last page',
  })
  next_cursor: string | null;
}

export function toBoardResponse(view: BoardView, callerId: string): BoardResponse {
  const { board } = view;
  return {
    id: board.id,
    title: board.title,
    description: board.description,
    is_public: board.isPublic,
    settings: board.settings,
    metadata: board.metadata,
    owner_id: board.ownerId,
    owner: view.owner,
    my_role: board.ownerId === callerId ? 'owner' : view.memberRole,
    version: board.version,
    created_at: board.createdAt.toISOString(),
    updated_at: board.updatedAt.toISOString(),
  };
}

/** Strong ETag of a board version: `"<id>.<version>"`. */
export function boardEtag(board: { id: string; version: number }): string {
  return `"${board.id}.${board.version}"`;
}
