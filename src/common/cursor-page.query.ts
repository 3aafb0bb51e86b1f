import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `limit` (1–100) and `cursor` (next_cursor of the previous page): the base of every keyset list query. */
export class CursorPageQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 100,
    description: 'Items per page (default 20; 50 for audit events)',
  })
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
