import { CursorPageQuery } from 'src/common/cursor-page.query';
import { EnumFilter } from 'src/common/decorators/dto-fields.decorator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import type { BoardRoleFilter, BoardSort } from '../boards.repository';

/** The shortest search: trigram indexes need three characters to narrow anything down. */
export const MIN_SEARCH_LENGTH = 3;

export class ListBoardsQuery extends CursorPageQuery {
  @EnumFilter(['any', 'owner', 'member'], { default: 'any' })
  role?: BoardRoleFilter;

  @ApiPropertyOptional({
    description: `Case-insensitive search in title and description (surrounding spaces are ignored; at least ${MIN_SEARCH_LENGTH} characters, since the search index works on trigrams)`,
    minLength: MIN_SEARCH_LENGTH,
    maxLength: 200,
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim() || undefined : value,
  )
  @IsString()
  @MinLength(MIN_SEARCH_LENGTH, {
    message: `q must be at least ${MIN_SEARCH_LENGTH} characters`,
  })
  @MaxLength(200)
  q?: string;

  @EnumFilter(['updated_desc', 'updated_asc', 'created_desc', 'created_asc'], {
    default: 'updated_desc',
  })
  sort?: BoardSort;
}
