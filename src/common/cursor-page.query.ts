import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageLimit } from 'src/common/decorators/dto-fields.decorator';

/** `limit` (1–100) and `cursor` (next_cursor of the previous page): the base of every keyset list query. */
export class CursorPageQuery {
  @PageLimit({ description: 'Items per page (default 20; 50 for audit events)' })
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
