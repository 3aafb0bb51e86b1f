import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantContextMissingError } from 'src/core/errors/domain-error';
import { MeResponseDto } from './dto/me-response.dto';

@TenantBoundApi('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly context: TenantContext) {}

  @Get('me')
  @ApiOperation({ summary: 'The authenticated caller: principal, user, tenant and roles' })
  @ApiOkResponse({ type: MeResponseDto })
  me(): MeResponseDto {
    const principal = this.context.principal;
    if (!principal) throw new TenantContextMissingError('the principal');
    // Read what the tenant guard resolved; nothing is looked up or provisioned a second time.
    const { tenant, user } = this.context.resolved();
    return {
      principal: {
        provider: principal.provider,
        subject: principal.subject,
        email: principal.email ?? null,
        name: principal.name ?? null,
        issuer: principal.issuer ?? null,
        email_verified: principal.emailVerified,
        is_platform_admin: principal.isPlatformAdmin,
      },
      user: {
        id: user.id,
        tenant_role: user.tenantRole,
        membership_source: user.membershipSource,
        email: user.email,
        display_name: user.displayName,
      },
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, status: tenant.status },
      roles: principal.isPlatformAdmin ? [user.tenantRole, 'platform_admin'] : [user.tenantRole],
    };
  }
}
