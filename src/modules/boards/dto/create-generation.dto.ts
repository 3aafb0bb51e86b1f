import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { EnumField, OptionalJsonObject } from 'src/common/decorators/dto-fields.decorator';
import { ARTIFACT_TYPES, type ArtifactType } from '../generation.entity';

export class CreateGenerationDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'flux-pro' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, {
    message: 'generator_name may contain letters, digits and . _ : / -',
  })
  generator_name: string;

  @EnumField(ARTIFACT_TYPES)
  artifact_type: ArtifactType;

  @OptionalJsonObject(65_536, { description: 'Generator input, at most 64 KB as JSON' })
  input_params?: Record<string, unknown>;
}
