import {
  NullableText,
  OptionalBoolean,
  OptionalJsonObject,
  OptionalNameField,
} from 'src/common/decorators/dto-fields.decorator';

/** Partial update; only the fields present change. */
export class UpdateBoardDto {
  @OptionalNameField()
  title?: string;

  @NullableText(10_000)
  description?: string | null;

  @OptionalBoolean({ description: 'Only the owner may change visibility' })
  is_public?: boolean;

  @OptionalJsonObject(65_536)
  settings?: Record<string, unknown>;

  @OptionalJsonObject(65_536)
  metadata?: Record<string, unknown>;
}
