import type { ApiErrorCode, ApiErrorCodeFor } from './error-catalog';
import { ErrorCode } from './error-code';

/**
 * A failure the service understands. `code` is its HTTP class (status and title); `apiCode` the
 * stable snake_case code of the catalogue (error-catalog.ts) that the body carries as `code`, one
 * whose status is the class's (checked by the compiler). `detail` is shown to the client for 4xx
 * codes only; `extra` adds documented fields to the body (for example multi_tenant_mode,
 * provided_tenant).
 */
export class DomainError<K extends ErrorCode = ErrorCode> extends Error {
  readonly code: ErrorCode;
  readonly apiCode: ApiErrorCode;

  // K only types the constructor: instances of every class stay one assignable type.
  constructor(
    code: K,
    apiCode: ApiErrorCodeFor<K>,
    readonly detail: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${apiCode}: ${detail}`);
    this.name = 'DomainError';
    this.code = code;
    this.apiCode = apiCode;
  }
}

/** Thrown when code reads the tenant where the guard did not set one: never a silent default. */
export class TenantContextMissingError extends DomainError<ErrorCode.TenantContextMissing> {
  constructor(what: string) {
    super(
      ErrorCode.TenantContextMissing,
      'internal_error',
      `${what} was read outside a tenant context`,
    );
    this.name = 'TenantContextMissingError';
  }
}

/** Thrown by the ORM layer when an entity of another tenant is written or loaded. */
export class TenantIsolationViolationError extends DomainError<ErrorCode.TenantIsolationViolation> {
  constructor(
    readonly violationType: string,
    entity: string,
  ) {
    super(ErrorCode.TenantIsolationViolation, 'internal_error', `${violationType} on ${entity}`);
    this.name = 'TenantIsolationViolationError';
  }
}
