import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ANY_ROUTE_ERRORS, ApiErrors, AUTHENTICATION_ERRORS } from 'src/common/api-error.response';
import { NoTenant } from './no-tenant.decorator';

export const PLATFORM_ADMIN_KEY = 'boards:platform-admin';

/**
 * Only platform admins (BOARDS_PLATFORM_ADMIN_SUBJECTS or BOARDS_PLATFORM_ADMIN_ROLE) may call the
 * route; any other authenticated caller gets 403. Independent of tenancy: setup routes combine it
 * with @NoTenant() (see PlatformAdminRoute).
 */
export const PlatformAdmin = (): MethodDecorator & ClassDecorator =>
  SetMetadata(PLATFORM_ADMIN_KEY, true);

/**
 * A platform-administration route: platform admins only, and no tenant of the caller's is
 * resolved (the route names the tenant it works on, if any). Documents the bearer token and the
 * 401 and 403 that follow from it; the route's own @ApiErrors lists the rest.
 */
export const PlatformAdminRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    NoTenant(),
    PlatformAdmin(),
    ApiBearerAuth(),
    ApiErrors(...ANY_ROUTE_ERRORS, ...AUTHENTICATION_ERRORS, 'platform_admin_required'),
  );
