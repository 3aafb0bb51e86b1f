import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import passport from 'passport';
import type { Principal } from 'src/core/context/tenant-context';
import type { UnverifiedToken } from './jwt-verification';

/** The strategies of BOARDS_AUTH_PROVIDER, in the configured order (none: empty). */
export const AUTH_STRATEGIES = Symbol('AUTH_STRATEGIES');

/** One provider of the chain as passport knows it. */
export interface AuthStrategy {
  /** The provider (`jwt`, `oidc`). */
  readonly provider: string;
  /** The name it is registered under with passport (see AuthStrategyRegistry). */
  readonly strategyName: string;
}

/** The bearer token of the request, checked and parsed once by the guard before passport runs. */
export interface BearerToken {
  readonly token: string;
  readonly parsed: UnverifiedToken;
}

const BEARER = Symbol('boards.bearer');

type WithBearer = { [BEARER]?: BearerToken };

export function attachBearer(request: object, bearer: BearerToken): void {
  (request as WithBearer)[BEARER] = bearer;
}

/** The request's bearer token as the guard parsed it; undefined when the guard did not. */
export function bearerOf(request: unknown): BearerToken | undefined {
  return (request as WithBearer | undefined)?.[BEARER];
}

/**
 * What a strategy's `validate` answers: the principal, or `false` with the reason (passport then
 * calls `fail(reason)` and the chain goes on to the next provider).
 */
export type Validated = Principal | [false, Error];

/**
 * @nestjs/passport's AuthGuard authenticates through passport's process-wide registry, and
 * PassportStrategy registers each strategy there under one fixed name. One process may hold
 * several applications with different keys (the test suites start several; an embedding host
 * could too), and a second `jwt` strategy would silently replace the first application's. So each
 * application's strategies are registered here under a name never used before in this process:
 * `jwt` and `oidc` for the first (a production process has only one), then `jwt#2`, `jwt#3`…
 * A name is never reused, so a request still in flight at one application can never meet another
 * application's strategy under its name. They are removed from passport at application shutdown,
 * after the HTTP server has closed (Nest's shutdown hooks run after `dispose`), so no request of
 * the closing application finds its strategy gone.
 *
 * Never import PassportModule with a `defaultStrategy`: @nestjs/passport's AuthGuard would take
 * its options and authenticate every application with the process-wide name (jwt.strategy.spec.ts
 * checks that no source imports it).
 */
@Injectable()
export class AuthStrategyRegistry implements OnApplicationShutdown {
  private static readonly issued = new Map<string, number>();
  private readonly names: string[] = [];

  /** Registers `strategy` with passport under a name new to this process; returns the name. */
  register(provider: string, strategy: passport.Strategy): string {
    const count = (AuthStrategyRegistry.issued.get(provider) ?? 0) + 1;
    AuthStrategyRegistry.issued.set(provider, count);
    const name = count === 1 ? provider : `${provider}#${count}`;
    this.names.push(name);
    passport.use(name, strategy);
    return name;
  }

  onApplicationShutdown(): void {
    for (const name of this.names.splice(0)) passport.unuse(name);
  }
}

/**
 * What PassportStrategy's constructor registers with instead of passport itself: nothing, since
 * each strategy registers through the application's AuthStrategyRegistry right after.
 */
export const DEFERRED_REGISTRATION = { use: () => DEFERRED_REGISTRATION } as unknown as ReturnType<
  typeof passport.use
>;
