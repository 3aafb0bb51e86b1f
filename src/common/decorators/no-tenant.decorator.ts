import { SetMetadata } from '@nestjs/common';

export const NO_TENANT_KEY = 'boards:no-tenant';

/**
 * The route needs an authenticated caller but no tenant (platform setup, registration): the
 * tenant guard resolves nothing and provisions no user, so no tenant transaction is opened.
 */
export const NoTenant = (): MethodDecorator & ClassDecorator => SetMetadata(NO_TENANT_KEY, true);
