import { Param, ParseUUIDPipe } from '@nestjs/common';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** A path parameter that must be a UUID: anything else is a 400 with the documented body, not a 500. */
export function UuidParam(name: string): ParameterDecorator {
  return Param(name, uuidParamPipe(name));
}

/** The pipe behind @UuidParam(name), for the routes dispatched directly (core/http/direct-routes). */
export function uuidParamPipe(name: string): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () =>
      new DomainError(
        ErrorCode.BadRequest,
        'invalid_uuid',
        `Path parameter ${name} must be a UUID.`,
      ),
  });
}
