import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EMAIL_MAX_LENGTH, EMAIL_PATTERN } from 'src/common/email';
import { MaxJsonBytes } from 'src/common/json-size.validator';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from 'src/common/slug';
import { decoratorStack } from './decorator-stack';

/*
 * The kinds of field our request DTOs share: validation, its messages and the OpenAPI schema of
 * each kind in one place. `docs` adds a field's own description, example or default.
 */

/** What a field documents beyond its kind. */
export interface FieldDocs {
  description?: string;
  example?: unknown;
  default?: unknown;
}

/** Longest name or title (the varchar(255) columns). */
export const NAME_MAX_LENGTH = 255;

const NOT_BLANK = /\S/;

/** A required name or title: a string of 1–255 characters, not only white space. */
export function NameField(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(
    ApiProperty({ minLength: 1, maxLength: NAME_MAX_LENGTH, ...docs }),
    IsString(),
    Length(1, NAME_MAX_LENGTH),
    Matches(NOT_BLANK, { message: '$property must not be blank' }),
  );
}

/** A name or title that may be left out (not null): 1–255 characters, not only white space. */
export function OptionalNameField(): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ minLength: 1, maxLength: NAME_MAX_LENGTH }),
    OptionalNonNull(),
    IsString(),
    Length(1, NAME_MAX_LENGTH),
    Matches(NOT_BLANK, { message: '$property must not be blank' }),
  );
}

/** Free text of at most `maxLength` characters that may be left out, or null to clear it. */
export function NullableText(maxLength: number): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ type: String, nullable: true, maxLength }),
    IsOptional(),
    IsString(),
    MaxLength(maxLength),
  );
}

/** A required e-mail address (local@domain, at most 320 characters). */
export function EmailField(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(
    ApiProperty({ maxLength: EMAIL_MAX_LENGTH, ...docs }),
    IsString(),
    MaxLength(EMAIL_MAX_LENGTH),
    Matches(EMAIL_PATTERN, { message: '$property must be an e-mail address' }),
  );
}

/** An e-mail address that may be left out (not null). */
export function OptionalEmailField(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ maxLength: EMAIL_MAX_LENGTH, ...docs }),
    OptionalNonNull(),
    IsString(),
    MaxLength(EMAIL_MAX_LENGTH),
    Matches(EMAIL_PATTERN, { message: '$property must be an e-mail address' }),
  );
}

/** A tenant slug that may be left out (not null); see src/common/slug. */
export function OptionalSlugField(
  docs: FieldDocs & { maxLength?: number } = {},
): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ pattern: SLUG_PATTERN.source, maxLength: SLUG_MAX_LENGTH, ...docs }),
    OptionalNonNull(),
    IsString(),
    Matches(SLUG_PATTERN, {
      message: `$property must be lowercase letters, digits and inner hyphens, at most ${SLUG_MAX_LENGTH} characters`,
    }),
  );
}

/** A required UUID. */
export function UuidField(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(ApiProperty({ format: 'uuid', ...docs }), IsUUID());
}

/** A required value out of `values`. */
export function EnumField(values: readonly string[], docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(ApiProperty({ enum: values, ...docs }), IsIn(values));
}

/** A value out of `values` that may be left out (not null). */
export function OptionalEnumField(
  values: readonly string[],
  docs: FieldDocs = {},
): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ enum: values, ...docs }),
    OptionalNonNull(),
    IsIn(values),
  );
}

/** A query-string filter: when given, one of `values`. */
export function EnumFilter(values: readonly string[], docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(ApiPropertyOptional({ enum: values, ...docs }), IsOptional(), IsIn(values));
}

/** A boolean that may be left out (not null). */
export function OptionalBoolean(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(ApiPropertyOptional(docs), OptionalNonNull(), IsBoolean());
}

/** A free-form JSON object that may be left out (not null), at most `maxBytes` as JSON. */
export function OptionalJsonObject(maxBytes: number, docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ type: 'object', additionalProperties: true, ...docs }),
    OptionalNonNull(),
    IsObject(),
    MaxJsonBytes(maxBytes),
  );
}

/** The `limit` query parameter of a list: an integer from 1 to 100. */
export function PageLimit(docs: FieldDocs = {}): PropertyDecorator {
  return decoratorStack(
    ApiPropertyOptional({ minimum: 1, maximum: 100, ...docs }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(100),
  );
}
