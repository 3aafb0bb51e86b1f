import { Injectable } from '@nestjs/common';
import type { Principal } from 'src/core/context/tenant-context';
import { TenantCache, type TenantRecord, type UserRecord } from 'src/core/cache/tenant-cache';
import { notAMember } from './auth.errors';
import {
  UsersRepository,
  profileFillsGaps,
  type ProvisioningRules,
  type UserProfile,
} from './users.repository';

const MAX_AVATAR_URL_LENGTH = 2_048;

/**
 * The caller's user row in its tenant, provisioned just in time. A cached user is returned as is
 * unless the token brings a profile value the row still lacks, so a steady stream of requests
 * from one user neither reads nor writes the database.
 */
@Injectable()
export class UserProvisioningService {
  constructor(
    private readonly users: UsersRepository,
    private readonly cache: TenantCache,
  ) {}

  /**
   * `mayCreate: false` (a tenant the caller only named in X-Tenant, in multi-tenant mode): an
   * existing membership is returned, but nobody joins a tenant just by naming it; that is 403.
   */
  async ensureUser(
    tenant: TenantRecord,
    principal: Principal,
    options: ProvisioningRules = { mayCreate: true, mayBecomeAdmin: true },
  ): Promise<UserRecord> {
    const profile = profileOf(principal);
    const cached = await this.cache.getUser(tenant.id, principal.provider, principal.subject);
    if (cached && !profileFillsGaps(cached, profile)) return cached;
    const version = this.cache.userVersion();
    const user = await this.users.provision(
      tenant.id,
      { provider: principal.provider, subject: principal.subject },
      profile,
      options,
    );
    if (!user) throw notAMember();
    await this.cache.setUser(tenant.id, principal.provider, principal.subject, user, version);
    return user;
  }
}

export function profileOf(principal: Principal): UserProfile {
  const picture = principal.claims.picture;
  const avatarUrl =
    typeof picture === 'string' &&
    picture.length <= MAX_AVATAR_URL_LENGTH &&
    /^https?:\/\/\S+$/i.test(picture)
      ? picture
      : null;
  return {
    email: principal.email ?? null,
    displayName: principal.name ?? null,
    avatarUrl,
  };
}
