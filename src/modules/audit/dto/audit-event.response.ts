import { CursorPageQuery } from 'src/common/cursor-page.query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { AuditEvent } from '../audit-event.entity';

export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actor_id: string | null;

  @ApiProperty({ type: String, nullable: true })
  actor_subject: string | null;

  @ApiProperty({ example: 'board.create' })
  action: string;

  @ApiProperty({ example: 'board' })
  target_type: string;

  @ApiProperty({ type: String, nullable: true })
  target_id: string | null;

  @ApiProperty({ enum: ['success', 'failure', 'denied'] })
  outcome: string;

  @ApiProperty({ type: String, nullable: true })
  request_id: string | null;

  @ApiProperty({ type: String, nullable: true })
  ip: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  details: Record<string, unknown>;

  @ApiProperty({ format: 'date-time' })
  created_at: string;
}

export class AuditEventPageResponse {
  @ApiProperty({ type: [AuditEventResponse] })
  items: AuditEventResponse[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class ListAuditEventsQuery extends CursorPageQuery {
  @ApiPropertyOptional({ description: 'Filter by action, e.g. board.create' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;
}

export function toAuditEventResponse(event: AuditEvent): AuditEventResponse {
  return {
    id: event.id,
    actor_id: event.actorId,
    actor_subject: event.actorSubject,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    outcome: event.outcome,
    request_id: event.requestId,
    ip: event.ip,
    details: event.details,
    created_at: event.createdAt.toISOString(),
  };
}
