import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { PLATFORM_ADMIN_KEY } from 'src/common/decorators/platform-admin.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { TenantContext, type Principal } from 'src/core/context/tenant-context';
import { platformAdminRequired } from './auth.errors';
import { AuthProviderChain, type PendingToken } from './auth-provider.chain';
import { AUTH_STRATEGIES, attachBearer, type AuthStrategy } from './auth-strategies';

/**
 * First global guard: @nestjs/passport's AuthGuard over the strategies of BOARDS_AUTH_PROVIDER,
 * in their order (`jwt,oidc` is passport's own multi-strategy chain: the first that verifies the
 * token wins). Around passport, AuthProviderChain answers `none` and recently verified tokens,
 * parses the token once, caches what passport verified, and turns a refusal into the 401 with its
 * precise reason. The principal goes to the TenantContext; @PlatformAdmin() is enforced;
 * @Public() routes pass untouched. Every failure is 401 with a `WWW-Authenticate: Bearer`
 * challenge; there is no anonymous fallback. docs/adr/0004-authentication.md says why this shape.
 */
@Injectable()
export class AuthenticationGuard extends AuthGuard() {
  constructor(
    private readonly reflector: Reflector,
    private readonly chain: AuthProviderChain,
    private readonly context: TenantContext,
    @Inject(AUTH_STRATEGIES) strategies: readonly AuthStrategy[],
  ) {
    super({ defaultStrategy: strategies.map((strategy) => strategy.strategyName), session: false });
  }

  /** True at once for a public route or a token verified recently (cached); else a promise. */
  override canActivate(execution: ExecutionContext): boolean | Promise<boolean> {
    const targets: GuardTargets = [execution.getHandler(), execution.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = execution.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const principal = this.chain.begin(request.headers.authorization);
    if ('token' in principal) return this.verify(execution, request, principal, targets);
    return this.admit(principal, targets);
  }

  /** A token the cache does not know: passport's strategies verify it. */
  private async verify(
    execution: ExecutionContext,
    request: FastifyRequest & { user?: Principal },
    pending: PendingToken,
    targets: GuardTargets,
  ): Promise<boolean> {
    attachBearer(request, pending);
    await super.canActivate(execution);
    const principal = request.user as Principal;
    this.chain.accept(pending, principal);
    return this.admit(principal, targets);
  }

  private admit(principal: Principal, targets: GuardTargets): true {
    this.context.setPrincipal(principal);
    if (
      this.reflector.getAllAndOverride<boolean>(PLATFORM_ADMIN_KEY, targets) &&
      !principal.isPlatformAdmin
    ) {
      throw platformAdminRequired();
    }
    return true;
  }

  /** Passport's verdict: the principal, or the 401 for the refusal the chain reports. */
  override handleRequest<TUser = Principal>(err: unknown, user: unknown, info: unknown): TUser {
    if (!err && user) return user as TUser;
    throw this.chain.refuse(err, info);
  }
}

/** The handler and its controller class, where route metadata is read. */
type GuardTargets = [
  ReturnType<ExecutionContext['getHandler']>,
  ReturnType<ExecutionContext['getClass']>,
];
