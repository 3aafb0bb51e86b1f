import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiErrors, IDEMPOTENT_WRITE_ERRORS } from 'src/common/api-error.response';
import { IDEMPOTENCY_HEADER, IdempotencyInterceptor } from './idempotency.interceptor';

/**
 * A POST that honours Idempotency-Key (IdempotencyInterceptor), with the header and the codes
 * the interceptor answers documented.
 */
export function IdempotentWrite(): MethodDecorator {
  return applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader(IDEMPOTENCY_HEADER),
    ApiErrors(...IDEMPOTENT_WRITE_ERRORS),
  );
}
