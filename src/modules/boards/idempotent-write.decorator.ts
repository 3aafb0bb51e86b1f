import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IDEMPOTENCY_HEADER, IdempotencyInterceptor } from './idempotency.interceptor';

/** A POST that honours Idempotency-Key (IdempotencyInterceptor), with the header documented. */
export function IdempotentWrite(): MethodDecorator {
  return applyDecorators(UseInterceptors(IdempotencyInterceptor), ApiHeader(IDEMPOTENCY_HEADER));
}
