import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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

export class CreateBoardDto {
  @ApiProperty({ minLength: 1, maxLength: 255, example: 'Moodboard for spring campaign' })
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'title must not be blank' })
  title: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 10_000 })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string | null;

  @ApiPropertyOptional({ default: false })
  @OptionalNonNull()
  @IsBoolean()
  is_public?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Free-form settings, at most 64 KB as JSON',
  })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Free-form metadata, at most 64 KB as JSON',
  })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  metadata?: Record<string, unknown>;
}
