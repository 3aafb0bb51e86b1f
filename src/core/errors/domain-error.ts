import { ErrorCode } from './error-code';

/**
 * A failure the service understands. `detail` is shown to the client for 4xx codes only; `extra`
 * adds documented fields to the body (for example multi_tenant_mode, provided_tenant).
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${code}: ${detail}`);
    this.name = 'DomainError';
  }
}

/** Thrown when code reads the tenant where the guard did not set one: never a silent default. */
export class TenantContextMissingError extends DomainError {
  constructor(what: string) {
    super(ErrorCode.TenantContextMissing, `${what} was read outside a tenant context`);
    this.name = 'TenantContextMissingError';
  }
}

/** Thrown by the ORM layer when an entity of another tenant is written or loaded. */
export class TenantIsolationViolationError extends DomainError {
  constructor(
    readonly violationType: string,
    entity: string,
  ) {
    super(ErrorCode.TenantIsolationViolation, `${violationType} on ${entity}`);
    this.name = 'TenantIsolationViolationError';
  }
}
