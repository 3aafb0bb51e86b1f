import { ApiProperty } from '@nestjs/swagger';
import {
  ARTIFACT_TYPES,
  GENERATION_STATUSES,
  type ArtifactType,
  type Generation,
  type GenerationStatus,
} from '../generation.entity';

export class GenerationResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  board_id: string;

  @ApiProperty({ format: 'uuid' })
  user_id: string;

  @ApiProperty()
  generator_name: string;

  @ApiProperty({ enum: ARTIFACT_TYPES })
  artifact_type: ArtifactType;

  @ApiProperty({ type: 'object', additionalProperties: true })
  input_params: Record<string, unknown>;

  @ApiProperty({ enum: GENERATION_STATUSES })
  status: GenerationStatus;

  @ApiProperty({ type: String, nullable: true })
  storage_url: string | null;

  @ApiProperty({ type: String, nullable: true })
  thumbnail_url: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  output_metadata: Record<string, unknown>;

  @ApiProperty({ minimum: 0, maximum: 100 })
  progress: number;

  @ApiProperty({ type: String, nullable: true })
  error_message: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  started_at: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  completed_at: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class GenerationPageResponse {
  @ApiProperty({ type: [GenerationResponse] })
  items: GenerationResponse[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export function toGenerationResponse(generation: Generation): GenerationResponse {
  return {
    id: generation.id,
    board_id: generation.boardId,
    user_id: generation.userId,
    generator_name: generation.generatorName,
    artifact_type: generation.artifactType,
    input_params: generation.inputParams,
    status: generation.status,
    storage_url: generation.storageUrl,
    thumbnail_url: generation.thumbnailUrl,
    output_metadata: generation.outputMetadata,
    progress: generation.progress,
    error_message: generation.errorMessage,
    started_at: generation.startedAt?.toISOString() ?? null,
    completed_at: generation.completedAt?.toISOString() ?? null,
    created_at: generation.createdAt.toISOString(),
    updated_at: generation.updatedAt.toISOString(),
  };
}
