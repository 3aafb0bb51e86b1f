import { AllowedIssuersField } from './allowed-issuers.field';
import {
  NameField,
  OptionalBoolean,
  OptionalEmailField,
  OptionalJsonObject,
  OptionalSlugField,
} from 'src/common/decorators/dto-fields.decorator';
import { SLUG_MAX_LENGTH } from 'src/common/slug';

export class CreateTenantDto {
  @NameField({ example: 'Acme Corporation' })
  name: string;

  @OptionalSlugField({
    maxLength: SLUG_MAX_LENGTH,
    description: 'Generated from the name when absent',
  })
  slug?: string;

  @OptionalJsonObject(65_536)
  settings?: Record<string, unknown>;

  @OptionalEmailField({
    example: 'it-lead@acme.example',
    description:
      "The tenant's first admin: an admin invitation for this address, accepted by the first request with a token whose e-mail is this one and verified, and X-Tenant naming the tenant",
  })
  admin_email?: string;

  @AllowedIssuersField(
    'Bind the tenant to these token issuers (exact `iss` values): tokens of any other trusted issuer do not enter it. Empty: every trusted issuer',
  )
  allowed_issuers?: string[];

  @OptionalBoolean({
    default: false,
    description: 'Create a few sample boards and generations',
  })
  include_sample_data?: boolean;
}
