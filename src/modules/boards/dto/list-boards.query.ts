import { CursorPageQuery } from 'src/common/cursor-page.query';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import type { BoardRoleFilter, BoardSort } from '../boards.repository';

export class ListBoardsQuery extends CursorPageQuery {
  @ApiPropertyOptional({ enum: ['any', 'owner', 'member'], default: 'any' })
  @IsOptional()
  @IsIn(['any', 'owner', 'member'])
  role?: BoardRoleFilter;

  @ApiPropertyOptional({
    description: 'Case-insensitive search in title and description',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({
    enum: ['updated_desc', 'updated_asc', 'created_desc', 'created_asc'],
    default: 'updated_desc',
  })
  @IsOptional()
  @IsIn(['updated_desc', 'updated_asc', 'created_desc', 'created_asc'])
  sort?: BoardSort;
}
