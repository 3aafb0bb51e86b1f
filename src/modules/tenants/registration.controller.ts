import { Body, Controller, Get, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiErrors,
  ANY_ROUTE_ERRORS,
  AUTHENTICATION_ERRORS,
  JSON_BODY_ERRORS,
} from 'src/common/api-error.response';
import { NoTenant } from 'src/common/decorators/no-tenant.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { TenantContext } from 'src/core/context/tenant-context';
import { RouteLimit } from 'src/core/rate-limit/route-limit.decorator';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { RegisterTenantDto } from './dto/register-tenant.dto';
import { RegistrationResponse, RegistrationStatusResponse } from './dto/registration.response';
import { RegistrationService } from './registration.service';

@ApiTags('registration')
@Controller('tenants')
export class RegistrationController {
  constructor(
    private readonly registration: RegistrationService,
    private readonly context: TenantContext,
  ) {}

  @Get('registration/status')
  @Public()
  @ApiOperation({
    summary: 'Whether self-service registration is open, and its rules',
    operationId: 'getRegistrationStatus',
  })
  @ApiOkResponse({ type: RegistrationStatusResponse })
  @ApiErrors('https_required', 'client_rate_limited', 'rate_limited')
  status(): RegistrationStatusResponse {
    return this.registration.status();
  }

  @Post('register')
  @RouteLimit('register', 3, 3_600_000)
  @NoTenant()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Register a new organization; the caller becomes its admin',
    operationId: 'registerTenant',
  })
  @ApiCreatedResponse({ type: RegistrationResponse })
  @ApiErrors(
    ...ANY_ROUTE_ERRORS,
    ...AUTHENTICATION_ERRORS,
    ...JSON_BODY_ERRORS,
    'registration_closed',
    'email_not_verified',
    'email_domain_not_allowed',
    'tenant_limit_reached',
    'slug_reserved',
    'slug_unavailable',
    'tenant_slug_taken',
    'slug_required',
    'tenant_database_not_ready',
  )
  register(@Body() dto: RegisterTenantDto): Promise<RegistrationResponse> {
    const principal = this.context.principal;
    if (!principal)
      throw new DomainError(
        ErrorCode.Unauthenticated,
        'missing_token',
        'Sign in to register an organization.',
      );
    return this.registration.register(principal, dto);
  }
}
