import { SetMetadata } from '@nestjs/common';

export const PLATFORM_ADMIN_KEY = 'boards:platform-admin';

/**
 * Only platform admins (BOARDS_PLATFORM_ADMIN_SUBJECTS or BOARDS_PLATFORM_ADMIN_ROLE) may call the
 * route; any other authenticated caller gets 403. Independent of tenancy: setup routes combine it
 * with @NoTenant().
 */
export const PlatformAdmin = (): MethodDecorator & ClassDecorator =>
  SetMetadata(PLATFORM_ADMIN_KEY, true);
