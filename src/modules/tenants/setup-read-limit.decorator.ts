import { RouteLimit } from 'src/core/rate-limit/route-limit.decorator';

/** The setup API's reads share one budget per caller: 100 a minute, across all of them. */
export function SetupReadLimit(): MethodDecorator {
  return RouteLimit('setup-read', 100, 60_000);
}
