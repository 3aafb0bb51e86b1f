import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import {
  ARTIFACT_TYPES,
  GENERATION_STATUSES,
  type ArtifactType,
  type GenerationStatus,
} from '../generation.entity';

export class ListGenerationsQuery {
  @ApiPropertyOptional({ enum: GENERATION_STATUSES })
  @IsOptional()
  @IsIn(GENERATION_STATUSES)
  status?: GenerationStatus;

  @ApiPropertyOptional({ enum: ARTIFACT_TYPES })
  @IsOptional()
  @IsIn(ARTIFACT_TYPES)
  artifact_type?: ArtifactType;

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
