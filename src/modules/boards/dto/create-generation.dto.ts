import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsString, Length, Matches } from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';
import { ARTIFACT_TYPES, type ArtifactType } from '../generation.entity';

export class CreateGenerationDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'flux-pro' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, {
    message: 'generator_name may contain letters, digits and . _ : / -',
  })
  generator_name: string;

  @ApiProperty({ enum: ARTIFACT_TYPES })
  @IsIn(ARTIFACT_TYPES)
  artifact_type: ArtifactType;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Generator input, at most 64 KB as JSON',
  })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(65_536)
  input_params?: Record<string, unknown>;
}
