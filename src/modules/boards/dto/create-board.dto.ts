import {
  NameField,
  NullableText,
  OptionalBoolean,
  OptionalJsonObject,
} from 'src/common/decorators/dto-fields.decorator';

export class CreateBoardDto {
  @NameField({ example: 'Moodboard for spring campaign' })
  title: string;

  @NullableText(10_000)
  description?: string | null;

  @OptionalBoolean({ default: false })
  is_public?: boolean;

  @OptionalJsonObject(65_536, { description: 'Free-form settings, at most 64 KB as JSON' })
  settings?: Record<string, unknown>;

  @OptionalJsonObject(65_536, { description: 'Free-form metadata, at most 64 KB as JSON' })
  metadata?: Record<string, unknown>;
}
