/*
 * Why this guard verifies tokens with jose directly instead of @nestjs/passport + passport-jwt
 * (which the issue suggests):
 *
 * passport-jwt verifies with `jsonwebtoken` (9.0.3, the latest). That library silently ignores the
 * `crit` header (RFC 7515 §4.1.11 says such a token MUST be rejected; auth0/node-jsonwebtoken#1032
 * is open), does not require `exp`, does not refuse an `iat` in the future, and skips every claim
 * check when the payload is a JSON string instead of an object. Each of those would need a patch
 * in `validate()`, after jsonwebtoken already accepted the token. Its failures reach the guard as
 * an untyped `info` (an Error whose message is matched as text, an array of them for a chain of
 * strategies, and messages such as "jwt audience invalid. expected: …" that echo configuration),
 * so the short reason of the WWW-Authenticate challenge would depend on string matching in two
 * libraries. And the JWKS handling (kid selection, cooldown, last good key set) has to be jose's
 * anyway, which would leave two JOSE parsers reading the same token — a classic source of
 * verification bypasses when they disagree.
 *
 * So one library (jose 5, which has a CommonJS build for Jest) parses and verifies, with an
 * explicit algorithm allow-list per provider, and every failure is mapped to a typed reason.
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { PLATFORM_ADMIN_KEY } from 'src/common/decorators/platform-admin.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { TenantContext } from 'src/core/context/tenant-context';
import { platformAdminRequired } from './auth.errors';
import { AuthProviderChain } from './auth-provider.chain';

/**
 * First global guard: verifies the bearer token with the configured provider chain (or, for
 * `none`, takes the development principal), stores the principal in the TenantContext, and
 * enforces @PlatformAdmin(). @Public() routes pass untouched. Every failure is 401 with a
 * `WWW-Authenticate: Bearer` challenge; there is no anonymous fallback.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly chain: AuthProviderChain,
    private readonly context: TenantContext,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    const targets = [execution.getHandler(), execution.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const principal = await this.chain.authenticate(request.headers.authorization);
    this.context.setPrincipal(principal);
    if (
      this.reflector.getAllAndOverride<boolean>(PLATFORM_ADMIN_KEY, targets) &&
      !principal.isPlatformAdmin
    ) {
      throw platformAdminRequired();
    }
    return true;
  }
}
