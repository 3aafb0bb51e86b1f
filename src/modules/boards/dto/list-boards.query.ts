import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { BoardRoleFilter, BoardSort } from '../boards.repository';

export class ListBoardsQuery {
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

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
