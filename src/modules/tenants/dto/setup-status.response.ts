import { ApiProperty } from '@nestjs/swagger';

export class DefaultTenantRef {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  slug: string;
}

export class SetupStatusResponse {
  @ApiProperty({ description: 'True while no tenant can be used yet' })
  setup_needed: boolean;

  @ApiProperty()
  has_default_tenant: boolean;

  @ApiProperty({ type: DefaultTenantRef, nullable: true })
  default_tenant: DefaultTenantRef | null;

  @ApiProperty()
  multi_tenant_mode: boolean;

  @ApiProperty({ example: 'jwt,oidc', description: 'The configured provider chain' })
  auth_provider: string;

  @ApiProperty({ type: [String], description: 'What an operator should still do' })
  recommendations: string[];
}
