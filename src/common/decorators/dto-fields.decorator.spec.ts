import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';
import { MaxJsonBytes } from 'src/common/json-size.validator';
import { OptionalNonNull } from 'src/common/optional-non-null.decorator';
import { SLUG_PATTERN } from 'src/common/slug';
import {
  NameField,
  OptionalJsonObject,
  OptionalSlugField,
  PageLimit,
} from './dto-fields.decorator';

/**
 * A composite field decorator must behave as the stack written out above a property did: the
 * same messages in the same order (the error detail joins them), the same OpenAPI schema.
 */

class Written {
  @ApiProperty({ minLength: 1, maxLength: 255, example: 'Acme' })
  @IsString()
  @Length(1, 255)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiPropertyOptional({ pattern: SLUG_PATTERN.source, maxLength: 50 })
  @OptionalNonNull()
  @IsString()
  @Matches(SLUG_PATTERN, {
    message: 'slug must be lowercase letters, digits and inner hyphens, at most 50 characters',
  })
  slug?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @OptionalNonNull()
  @IsObject()
  @MaxJsonBytes(16)
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

class Composed {
  @NameField({ example: 'Acme' })
  name: string;

  @OptionalSlugField()
  slug?: string;

  @OptionalJsonObject(16)
  settings?: Record<string, unknown>;

  @PageLimit({ default: 20 })
  limit?: number;
}

const FIELDS = ['name', 'slug', 'settings', 'limit'] as const;
const VALUES: unknown[] = [undefined, null, '', '  ', 'a', 'Acme', 42, '0', '20', '101', 1.5, {}];

function messages(cls: new () => object, field: string, value: unknown): string[] {
  const plain = { name: 'ok', [field]: value };
  const flat = (errors: ValidationError[]): string[] =>
    errors.flatMap((error) => Object.values(error.constraints ?? {}));
  return flat(validateSync(plainToInstance(cls, plain), { forbidUnknownValues: true }));
}

function schema(cls: new () => object, field: string): unknown {
  return Reflect.getMetadata('swagger/apiModelProperties', cls.prototype, field) as unknown;
}

describe('composite field decorators', () => {
  it.each(FIELDS.flatMap((field) => VALUES.map((value) => [field, value] as const)))(
    '%s = %p gives the messages of the written stack, in its order',
    (field, value) => {
      expect(messages(Composed, field, value)).toEqual(messages(Written, field, value));
    },
  );

  it('refuses a blank name with every message, in the order of the written stack', () => {
    expect(messages(Composed, 'name', 42)).toEqual([
      'name must not be blank',
      'name must be longer than or equal to 1 and shorter than or equal to 255 characters',
      'name must be a string',
    ]);
  });

  it.each(FIELDS)('%s documents the same OpenAPI schema', (field) => {
    expect(schema(Composed, field)).toEqual(schema(Written, field));
  });
});
