import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

/** The documented error body. */
export class ApiErrorResponse {
  @ApiProperty({ example: 'Not Found', description: 'Short title of the status' })
  error: string;

  @ApiProperty({ example: 'Board not found.', description: 'What went wrong, in one sentence' })
  detail: string;

  @ApiProperty({ example: 404 })
  status: number;

  @ApiProperty({
    example: '3f0e6c1e-5d1a-4f62-9a57-6f0f7d6b9d2a',
    description: 'Also in the X-Request-Id header',
  })
  request_id: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (validation failed, malformed id or cursor)',
  401: 'Missing or invalid bearer token',
  403: 'Authenticated, but not allowed',
  404: 'Not found (also for objects of another organization)',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current ETag',
  413: 'Request body too large',
  422: 'Idempotency-Key reused with a different request',
  429: 'Rate limit exceeded',
};

/** Documents the error responses a route can give, all with the same body. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ApiErrorResponse }),
    ),
  );
}
