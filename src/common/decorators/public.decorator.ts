import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'boards:public';

/**
 * The route needs no authentication and no tenant (health, metrics, setup status). The auth
 * guards let it through untouched, so no principal, tenant or user is set for it.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
