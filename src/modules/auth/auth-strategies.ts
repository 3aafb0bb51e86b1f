import { Injectable, type OnModuleDestroy } from '@nestjs/common';
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
 * application's strategies are registered here under a name no live application holds: `jwt` and
 * `oidc` for the first (a production process has only one), `jwt#2`… otherwise. They are removed
 * from passport when the application closes.
 */
@Injectable()
export class AuthStrategyRegistry implements OnModuleDestroy {
  private static readonly live = new Set<string>();
  private readonly names: string[] = [];

  /** Registers `strategy` with passport under a name unique in this process; returns the name. */
  register(provider: string, strategy: passport.Strategy): string {
    let name = provider;
    for (let n = 2; AuthStrategyRegistry.live.has(name); n++) name = `${provider}#${n}`;
    AuthStrategyRegistry.live.add(name);
    this.names.push(name);
    passport.use(name, strategy);
    return name;
  }

  onModuleDestroy(): void {
    for (const name of this.names.splice(0)) {
      passport.unuse(name);
      AuthStrategyRegistry.live.delete(name);
    }
  }
}

/**
 * What PassportStrategy's constructor registers with instead of passport itself: nothing, since
 * each strategy registers through the application's AuthStrategyRegistry right after.
 */
export const DEFERRED_REGISTRATION = { use: () => DEFERRED_REGISTRATION } as unknown as ReturnType<
  typeof passport.use
>;
