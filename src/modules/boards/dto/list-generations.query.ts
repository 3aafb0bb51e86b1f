import { CursorPageQuery } from 'src/common/cursor-page.query';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import {
  ARTIFACT_TYPES,
  GENERATION_STATUSES,
  type ArtifactType,
  type GenerationStatus,
} from '../generation.entity';

export class ListGenerationsQuery extends CursorPageQuery {
  @ApiPropertyOptional({ enum: GENERATION_STATUSES })
  @IsOptional()
  @IsIn(GENERATION_STATUSES)
  status?: GenerationStatus;

  @ApiPropertyOptional({ enum: ARTIFACT_TYPES })
  @IsOptional()
  @IsIn(ARTIFACT_TYPES)
  artifact_type?: ArtifactType;
}
