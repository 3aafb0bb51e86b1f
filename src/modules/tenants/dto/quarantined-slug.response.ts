import { ApiProperty } from '@nestjs/swagger';

export class QuarantinedSlugResponse {
  @ApiProperty({ example: 'acme' })
  slug: string;

  @ApiProperty({ format: 'uuid', description: 'The deleted tenant that held the slug' })
  former_tenant_id: string;

  @ApiProperty({ format: 'date-time' })
  deleted_at: string;

  @ApiProperty({ format: 'date-time', description: 'Until when the slug cannot be taken' })
  until: string;
}

export class QuarantinedSlugListResponse {
  @ApiProperty({ type: [QuarantinedSlugResponse] })
  items: QuarantinedSlugResponse[];
}
