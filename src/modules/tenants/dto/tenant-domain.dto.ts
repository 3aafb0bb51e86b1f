import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import type { TenantDomain } from '../tenant-domains.repository';

export class AddTenantDomainDto {
  @ApiProperty({
    maxLength: 253,
    example: 'acme.example',
    description:
      'A full domain (IDNs in their xn-- form). Members whose verified e-mail is exactly at this domain may join as members. Tenant admins may add only the domain of their own verified e-mail.',
  })
  @IsString()
  @MaxLength(253)
  domain: string;
}

export class TenantDomainResponse {
  @ApiProperty({ example: 'acme.example' })
  domain: string;

  @ApiProperty({ type: String, nullable: true, description: 'provider:subject of who added it' })
  added_by: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at: string;
}

export class TenantDomainListResponse {
  @ApiProperty({ type: [TenantDomainResponse] })
  items: TenantDomainResponse[];
}

export function toTenantDomainResponse(domain: TenantDomain): TenantDomainResponse {
  return {
    domain: domain.domain,
    added_by: domain.addedBy,
    created_at: domain.createdAt.toISOString(),
  };
}
