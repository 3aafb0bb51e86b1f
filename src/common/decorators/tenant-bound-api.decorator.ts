import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import {
  ANY_ROUTE_ERRORS,
  ApiErrors,
  AUTHENTICATION_ERRORS,
  TENANT_ADMISSION_ERRORS,
} from 'src/common/api-error.response';

/**
 * Documents a controller whose routes act in the caller's tenant (the guards' default for routes
 * without @Public or @NoTenant): listed under `tag`, a bearer token needed, and the error codes of
 * the global guards (authentication, tenant admission, rate limits) on each of its routes.
 */
export function TenantBoundApi(tag: string): ClassDecorator {
  return applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    ApiErrors(...ANY_ROUTE_ERRORS, ...AUTHENTICATION_ERRORS, ...TENANT_ADMISSION_ERRORS),
  );
}

/** Documents the optional X-Tenant header that selects the tenant when the token names none. */
export function ApiTenantHeader(): MethodDecorator & ClassDecorator {
  return ApiHeader({
    name: 'X-Tenant',
    required: false,
    description: 'Tenant slug, when the token does not name one',
  });
}
