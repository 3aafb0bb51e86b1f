import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, Length } from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';

/** Partial update. The slug never changes (tokens and URLs name it); status changes through the actions. */
export class UpdateTenantDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 255 })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  name?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Replaces the settings object',
  })
  @IsOptional()
  @IsObject()
  @MaxJsonBytes(65_536)
  settings?: Record<string, unknown>;
}
