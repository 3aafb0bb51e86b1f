import { Injectable } from '@nestjs/common';
import { CLS_REQ, ClsService, type ClsStore } from 'nestjs-cls';
import type { EntityManager } from 'typeorm';
import type { TenantRecord, TenantRole, UserRecord } from './records';
import { TenantContextMissingError } from 'src/core/errors/domain-error';
import {
  annotateRequest,
  requestLogFields,
  type RequestLogFields,
} from 'src/core/logging/request-log-fields';

export {
  INACTIVE_SOURCES,
  MEMBERSHIP_SOURCES,
  type MembershipSource,
  type TenantRole,
} from './records';

/**
 * The active context's store, or undefined outside one. Its fields are read and written on it
 * directly: nestjs-cls's `get(key)` and `set(key, value)` take the key as a dotted path and split
 * it on every call (about 14 µs per write request, over some thirty calls).
 */
export function contextStoreOf(cls: ClsService): TenantContextStore | undefined {
  return cls.get() as TenantContextStore | undefined;
}

/** The active context's store to write to; outside a context it fails as nestjs-cls's set() does. */
export function writableStoreOf(cls: ClsService): TenantContextStore {
  const store = contextStoreOf(cls);
  if (!store) {
    throw new Error(
      'No CLS context available: a ClsMiddleware, guard or interceptor must set up the context, or the caller must run in ClsService#run',
    );
  }
  return store;
}

/** Who is calling, as established by the auth guard. */
export interface Principal {
  /** Identity namespace: `none`, `jwt` or `oidc:<issuer host/path>`. */
  readonly provider: string;
  readonly subject: string;
  /** The token's verified `iss`, when it has one (issuer-bound tenants compare it exactly). */
  readonly issuer?: string;
  readonly email?: string;
  /** The token says `email_verified: true` (the boolean, nothing else). */
  readonly emailVerified: boolean;
  readonly name?: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly isPlatformAdmin: boolean;
}

/**
 * The store's shape. ClsService is used untyped (its key-path types recurse too deep through
 * EntityManager); `get` below gives typed access.
 */
export interface TenantContextStore extends ClsStore {
  tenantId?: string;
  tenantSlug?: string;
  userId?: string;
  tenantRole?: TenantRole;
  principal?: Principal;
  /** The tenant and user records the tenant guard resolved for this request. */
  resolvedTenant?: TenantRecord;
  resolvedUser?: UserRecord;
  /** The open tenant transaction's manager; only core/database reads it. */
  entityManager?: EntityManager;
  /**
   * BOARDS_TENANT_ISOLATION=database: the control database's transaction paired with the open
   * tenant transaction (registry writes); only core/database reads it.
   */
  registryTransaction?: unknown;
  /**
   * A request transaction's FinalStatement (its last statement may carry its COMMIT), until
   * something in it says statements follow the handler's; only core/database reads it.
   */
  finalStatement?: unknown;
}

/** The caller within a tenant, handed explicitly to services: `boards.list(actor, query)`. */
export interface Actor {
  readonly tenantId: string;
  readonly userId: string;
  readonly tenantRole: TenantRole;
}

/**
 * The per-request store (AsyncLocalStorage through nestjs-cls). Providers stay singletons and read
 * the request's values here. Accessors fail closed: reading the tenant where none was set throws.
 */
@Injectable()
export class TenantContext {
  constructor(private readonly cls: ClsService) {}

  get tenantId(): string {
    const tenantId = this.get('tenantId');
    if (!tenantId) throw new TenantContextMissingError('tenant id');
    return tenantId;
  }

  get tenantSlug(): string {
    const slug = this.get('tenantSlug');
    if (!slug) throw new TenantContextMissingError('tenant slug');
    return slug;
  }

  get userId(): string {
    const userId = this.get('userId');
    if (!userId) throw new TenantContextMissingError('user id');
    return userId;
  }

  /** The authenticated caller in its tenant. Fails closed when the guards did not set them. */
  actor(): Actor {
    return {
      tenantId: this.tenantId,
      userId: this.userId,
      tenantRole: this.tenantRole ?? 'member',
    };
  }

  /** The tenant id when one is set; for code that must behave differently outside a tenant. */
  get optionalTenantId(): string | undefined {
    return this.get('tenantId');
  }

  get optionalTenantSlug(): string | undefined {
    return this.get('tenantSlug');
  }

  get optionalUserId(): string | undefined {
    return this.get('userId');
  }

  get principal(): Principal | undefined {
    return this.get('principal');
  }

  get tenantRole(): TenantRole | undefined {
    return this.get('tenantRole');
  }

  get requestId(): string | undefined {
    return this.cls.isActive() ? this.cls.getId() : undefined;
  }

  private get<K extends keyof TenantContextStore>(key: K): TenantContextStore[K] | undefined {
    return contextStoreOf(this.cls)?.[key];
  }

  /** The caller's address, for audit events. */
  get clientIp(): string | undefined {
    const request = contextStoreOf(this.cls)?.[CLS_REQ] as object | undefined;
    return request ? requestLogFields(request).ip : undefined;
  }

  get isActive(): boolean {
    return this.cls.isActive();
  }

  setTenant(tenant: { id: string; slug: string }): void {
    const store = writableStoreOf(this.cls);
    store.tenantId = tenant.id;
    store.tenantSlug = tenant.slug;
    this.annotateLog({ tenant_slug: tenant.slug });
  }

  /** What the tenant guard resolved: sets tenant and user, and keeps both records for the request. */
  setResolved(tenant: TenantRecord, user: UserRecord): void {
    this.setTenant(tenant);
    this.setUser({ id: user.id, role: user.tenantRole });
    const store = writableStoreOf(this.cls);
    store.resolvedTenant = tenant;
    store.resolvedUser = user;
  }

  /** The request's tenant and user records; fails closed when the tenant guard did not run. */
  resolved(): { tenant: TenantRecord; user: UserRecord } {
    const tenant = this.get('resolvedTenant');
    const user = this.get('resolvedUser');
    if (!tenant || !user) throw new TenantContextMissingError('the resolved tenant and user');
    return { tenant, user };
  }

  setUser(user: { id: string; role: TenantRole }): void {
    const store = writableStoreOf(this.cls);
    store.userId = user.id;
    store.tenantRole = user.role;
    this.annotateLog({ user_id: user.id });
  }

  /** The request log line is written after the response, so it reads these from the request. */
  private annotateLog(fields: RequestLogFields): void {
    const request = contextStoreOf(this.cls)?.[CLS_REQ] as object | undefined;
    if (request) annotateRequest(request, fields);
  }

  setPrincipal(principal: Principal): void {
    writableStoreOf(this.cls).principal = principal;
  }

  /** Runs `fn` in a fresh context (CLI commands, background work, tests). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.cls.run(fn);
  }
}
