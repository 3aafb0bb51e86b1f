import {
  ApiExtraModels,
  ApiProperty,
  ApiResponse,
  DECORATORS,
  getSchemaPath,
} from '@nestjs/swagger';
import { statusOfCode, type ApiErrorCode } from 'src/core/errors/error-catalog';

/** The documented error body. */
export class ApiErrorResponse {
  @ApiProperty({ example: 'Not Found', description: 'Short title of the status' })
  error: string;

  @ApiProperty({
    example: 'board_not_found',
    description:
      'Stable snake_case code of the failure, to switch on (docs/errors.md lists them all); ' +
      'each response lists the codes it can carry',
  })
  code: string;

  @ApiProperty({ example: 'Board not found.', description: 'What went wrong, in one sentence' })
  detail: string;

  @ApiProperty({ example: 404 })
  status: number;

  @ApiProperty({
    example: '3f0e6c1e-5d1a-4f62-9a57-6f0f7d6b9d2a',
    description: 'Also in the X-Request-Id header',
  })
  request_id: string;

  @ApiProperty({
    required: false,
    description:
      'With tenant_required and invalid_tenant_header: whether the server is multi-tenant',
  })
  multi_tenant_mode?: boolean;

  @ApiProperty({
    required: false,
    description: 'With invalid_tenant_header: the X-Tenant value received (first 100 characters)',
  })
  provided_tenant?: string;
}

/**
 * Codes any /api route can answer: the HTTPS requirement, the per-client and per-user rate limits
 * (when enabled), and a database that cannot be reached or answer in time.
 */
export const ANY_ROUTE_ERRORS = [
  'https_required',
  'client_rate_limited',
  'rate_limited',
  'database_unavailable',
  'statement_timeout',
] as const satisfies readonly ApiErrorCode[];

/** Codes of the authentication guard, on every route that needs a bearer token. */
export const AUTHENTICATION_ERRORS = [
  'missing_token',
  'invalid_token',
] as const satisfies readonly ApiErrorCode[];

/** Codes of tenant selection and admission, and of the tenant's share of the database. */
export const TENANT_ADMISSION_ERRORS = [
  'tenant_required',
  'invalid_tenant_header',
  'invalid_tenant_claim',
  'not_a_member',
  'tenant_not_active',
  'tenant_busy',
  'tenant_moving',
] as const satisfies readonly ApiErrorCode[];

/** Codes of a route that reads a JSON body: parsing, size, content type, validation, storage. */
export const JSON_BODY_ERRORS = [
  'validation_failed',
  'malformed_json',
  'empty_json_body',
  'invalid_utf8',
  'json_too_deep',
  'json_too_many_members',
  'json_forbidden_key',
  'json_unpaired_surrogate',
  'json_number_too_large',
  'nul_character',
  'payload_too_large',
  'unsupported_media_type',
] as const satisfies readonly ApiErrorCode[];

/** Codes of a write that accepts Idempotency-Key (@IdempotentWrite). */
export const IDEMPOTENT_WRITE_ERRORS = [
  'invalid_idempotency_key',
  'idempotency_key_in_use',
  'idempotency_key_reused',
] as const satisfies readonly ApiErrorCode[];

/** Codes of a paginated list: its query, and its cursor. */
export const LIST_QUERY_ERRORS = [
  'validation_failed',
  'invalid_cursor',
] as const satisfies readonly ApiErrorCode[];

/** Short titles of the statuses, for the response descriptions. */
const SUMMARIES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid bearer token',
  403: 'Authenticated, but not allowed',
  404: 'Not found (also for objects of another organization)',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current ETag',
  413: 'Request body too large',
  414: 'Request URL or path parameter too long',
  415: 'Unsupported content type',
  422: 'Idempotency-Key reused with a different request',
  429: 'Rate limit or fair share exceeded (Retry-After)',
  503: 'Service temporarily unavailable (Retry-After)',
};

/** The codes documented on each handler (accumulated over the decorators applied to it). */
const CODES = Symbol('boards:api-error-codes');

type Handler = object;

/**
 * Documents the error codes a route can answer, grouped by status (from the catalogue): per
 * status one response whose description lists the codes and whose schema is the error body
 * with `code` an enum of them. Several uses on one route add up; on a controller class, the codes
 * are added to each of its handlers (class decorators run after the method ones).
 */
export function ApiErrors(...codes: ApiErrorCode[]): MethodDecorator & ClassDecorator {
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      document(descriptor.value as Handler, codes);
      return descriptor;
    }
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      if (name === 'constructor') continue;
      const value = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
      if (typeof value === 'function') document(value, codes);
    }
    return target;
  }) as MethodDecorator & ClassDecorator;
}

/** The codes documented on a handler so far. */
export function documentedErrorCodes(handler: Handler): readonly ApiErrorCode[] {
  return (Reflect.getMetadata(CODES, handler) as ApiErrorCode[] | undefined) ?? [];
}

function document(handler: Handler, added: readonly ApiErrorCode[]): void {
  const codes = [...new Set([...documentedErrorCodes(handler), ...added])];
  Reflect.defineMetadata(CODES, codes, handler);
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = statusOfCode(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  // ApiResponse merges a second entry for a status into the first (descriptions concatenated):
  // the statuses this call documents start afresh, with every code known so far.
  const responses = {
    ...(Reflect.getMetadata(DECORATORS.API_RESPONSE, handler) as Record<string, unknown>),
  };
  for (const status of byStatus.keys()) delete responses[status];
  Reflect.defineMetadata(DECORATORS.API_RESPONSE, responses, handler);
  const descriptor = { value: handler };
  const models = Reflect.getMetadata(DECORATORS.API_EXTRA_MODELS, handler) as unknown[] | undefined;
  if (!models?.includes(ApiErrorResponse)) {
    ApiExtraModels(ApiErrorResponse)(handler, 'handler', descriptor);
  }
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    ApiResponse({
      status,
      description: describe(status, group),
      schema: {
        allOf: [
          { $ref: getSchemaPath(ApiErrorResponse) },
          {
            type: 'object',
            required: ['code'],
            properties: { code: { type: 'string', enum: [...group].sort() } },
          },
        ],
      },
    })(handler, 'handler', descriptor);
  }
}

/** The status's title, then its codes (their meanings are in docs/errors.md). */
function describe(status: number, codes: readonly ApiErrorCode[]): string {
  const listed = [...codes]
    .sort()
    .map((code) => `\`${code}\``)
    .join(', ');
  return `${SUMMARIES[status] ?? 'Error'}. Codes: ${listed}.`;
}
