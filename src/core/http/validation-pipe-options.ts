import type { ValidationPipeOptions } from '@nestjs/common';

/** The global ValidationPipe's options (main.ts); src/body-checks.spec.ts checks the body check under them. */
export const VALIDATION_PIPE_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: false,
};
