import { ApiProperty } from '@nestjs/swagger';

/** What anyone who can read a board may see of a user: no e-mail, no auth subject. */
export class PublicProfileResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ type: String, nullable: true })
  display_name: string | null;

  @ApiProperty({ type: String, nullable: true })
  avatar_url: string | null;
}
