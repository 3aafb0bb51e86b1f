import { CursorPageQuery } from 'src/common/cursor-page.query';
import { EnumFilter } from 'src/common/decorators/dto-fields.decorator';
import {
  ARTIFACT_TYPES,
  GENERATION_STATUSES,
  type ArtifactType,
  type GenerationStatus,
} from '../generation.entity';

export class ListGenerationsQuery extends CursorPageQuery {
  @EnumFilter(GENERATION_STATUSES)
  status?: GenerationStatus;

  @EnumFilter(ARTIFACT_TYPES)
  artifact_type?: ArtifactType;
}
