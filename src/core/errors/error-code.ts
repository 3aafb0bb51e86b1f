/** Every domain error carries one of these codes; the global filter maps them to HTTP. */
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

export function errorMapping(code: ErrorCode): ErrorMapping {
  switch (code) {
    case ErrorCode.ValidationFailed:
      return { status: 400, title: 'Validation Failed' };
    case ErrorCode.BadRequest:
      return { status: 400, title: 'Bad Request' };
    case ErrorCode.Unauthenticated:
      return { status: 401, title: 'Unauthorized' };
    case ErrorCode.Forbidden:
      return { status: 403, title: 'Forbidden' };
    case ErrorCode.NotFound:
      return { status: 404, title: 'Not Found' };
    case ErrorCode.Conflict:
      return { status: 409, title: 'Conflict' };
    case ErrorCode.PreconditionFailed:
      return { status: 412, title: 'Precondition Failed' };
    case ErrorCode.PayloadTooLarge:
      return { status: 413, title: 'Payload Too Large' };
    case ErrorCode.Unprocessable:
      return { status: 422, title: 'Unprocessable Entity' };
    case ErrorCode.RateLimited:
      return { status: 429, title: 'Too Many Requests' };
    case ErrorCode.ServiceUnavailable:
      return { status: 503, title: 'Service Unavailable' };
    case ErrorCode.TenantContextMissing:
    case ErrorCode.TenantIsolationViolation:
    case ErrorCode.Internal:
      return { status: 500, title: 'Internal Server Error' };
  }
}
