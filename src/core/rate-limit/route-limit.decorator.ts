import { applyDecorators, SetMetadata } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';

export const ROUTE_LIMIT_KEY = 'boards:route-limit';

/**
 * A limit of its own for one operation (register 3/hour, create tenant 10/hour, …), counted per
 * caller under `name`, in place of the default per-user limit. The per-tenant budget still applies.
 */
export function RouteLimit(
  name: string,
  limit: number,
  ttlMs: number,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ROUTE_LIMIT_KEY, name),
    Throttle({ default: { limit, ttl: ttlMs } }),
  );
}
