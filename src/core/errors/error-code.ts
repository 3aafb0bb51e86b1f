/**
 * The HTTP class of a domain error: which status and title the global filter answers with. The
 * stable, snake_case code a client switches on is the error's `apiCode` (error-catalog.ts).
 */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  BadRequest = 'BAD_REQUEST',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  PreconditionFailed = 'PRECONDITION_FAILED',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  Unprocessable = 'UNPROCESSABLE',
  RateLimited = 'RATE_LIMITED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  TenantContextMissing = 'TENANT_CONTEXT_MISSING',
  TenantIsolationViolation = 'TENANT_ISOLATION_VIOLATION',
  Internal = 'INTERNAL',
}

export interface ErrorMapping {
  readonly status: number;
  readonly title: string;
}

/** Status and title of each class (literal types: the catalogue's codes are checked by them). */
export const ERROR_CLASSES = {
  [ErrorCode.ValidationFailed]: { status: 400, title: 'Validation Failed' },
  [ErrorCode.BadRequest]: { status: 400, title: 'Bad Request' },
  [ErrorCode.Unauthenticated]: { status: 401, title: 'Unauthorized' },
  [ErrorCode.Forbidden]: { status: 403, title: 'Forbidden' },
  [ErrorCode.NotFound]: { status: 404, title: 'Not Found' },
  [ErrorCode.Conflict]: { status: 409, title: 'Conflict' },
  [ErrorCode.PreconditionFailed]: { status: 412, title: 'Precondition Failed' },
  [ErrorCode.PayloadTooLarge]: { status: 413, title: 'Payload Too Large' },
  [ErrorCode.Unprocessable]: { status: 422, title: 'Unprocessable Entity' },
  [ErrorCode.RateLimited]: { status: 429, title: 'Too Many Requests' },
  [ErrorCode.ServiceUnavailable]: { status: 503, title: 'Service Unavailable' },
  [ErrorCode.TenantContextMissing]: { status: 500, title: 'Internal Server Error' },
  [ErrorCode.TenantIsolationViolation]: { status: 500, title: 'Internal Server Error' },
  [ErrorCode.Internal]: { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<ErrorCode, ErrorMapping>;

/** The HTTP status of a class, as a literal type. */
export type StatusOf<K extends ErrorCode> = (typeof ERROR_CLASSES)[K]['status'];

export function errorMapping(code: ErrorCode): ErrorMapping {
  return ERROR_CLASSES[code];
}
