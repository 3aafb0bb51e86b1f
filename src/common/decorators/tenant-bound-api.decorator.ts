import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import {
  ANY_ROUTE_ERRORS,
  ApiErrors,
  AUTHENTICATION_ERRORS,
  TENANT_ADMISSION_ERRORS,
} from 'src/common/api-error.response';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from 'src/common/slug';

/**
 * Documents a controller whose routes act in the caller's tenant (the guards' default for routes
 * without @Public or @NoTenant): listed under `tag`, a bearer token needed, and the error codes of
 * the global guards (authentication, tenant admission, rate limits) on each of its routes.
 */
export function TenantBoundApi(tag: string): ClassDecorator {
  return applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    ApiTenantHeader(),
    ApiErrors(...ANY_ROUTE_ERRORS, ...AUTHENTICATION_ERRORS, ...TENANT_ADMISSION_ERRORS),
  );
}

/**
 * Documents the X-Tenant header: the slug of the tenant the request acts in, chosen among the
 * caller's memberships (TenantResolver). Without it, the one tenant the token's claim lists, or
 * the default tenant in single-tenant mode.
 */
export function ApiTenantHeader(): MethodDecorator & ClassDecorator {
  return ApiHeader({
    name: 'X-Tenant',
    required: false,
    schema: { type: 'string', pattern: SLUG_PATTERN.source, maxLength: SLUG_MAX_LENGTH },
    description:
      "Slug of the tenant (organization) the request acts in, among the caller's memberships. Without it: the one tenant the token's claim lists, or the default tenant in single-tenant mode; in multi-tenant mode a caller of several tenants must send it.",
  });
}
