import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';

/** Partial update; only the fields present change. */
export class UpdateBoardDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 255 })
  @OptionalNonNull()
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'title must not be blank' })
  title?: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 10_000 })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ description: 'Only the owner may change visibility' })
  @OptionalNonNull()
  @IsBoolean()
  is_public?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  metadata?: Record<string, unknown>;
}
