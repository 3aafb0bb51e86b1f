import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsString, Length } from 'class-validator';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';

/** At most this many issuers per tenant (the tenants_allowed_issuers_check constraint). */
export const MAX_ALLOWED_ISSUERS = 20;

/** `allowed_issuers`: exact `iss` values a tenant is bound to (creation and update alike). */
export function AllowedIssuersField(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: [String], maxItems: MAX_ALLOWED_ISSUERS, description }),
    OptionalNonNull(),
    IsArray(),
    ArrayMaxSize(MAX_ALLOWED_ISSUERS),
    IsString({ each: true }),
    Length(1, 255, { each: true }),
  );
}
