import { ValidateIf } from 'class-validator';

/**
 * The field may be left out, but not sent as null: unlike @IsOptional(), null is validated (and
 * refused) by the decorators that follow. For fields stored NOT NULL.
 */
export function OptionalNonNull(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
