import { Injectable } from '@nestjs/common';
import { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import { TenantCache } from 'src/core/cache/tenant-cache';
import type { TenantRecord } from 'src/core/context/records';

/** Tenant-by-slug lookups for the tenant guard, through the short-lived cache. */
@Injectable()
export class TenantDirectory {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly cache: TenantCache,
  ) {}

  /** The tenant when this process has it cached; undefined means "ask findBySlug". */
  cached(slug: string): TenantRecord | undefined {
    return this.cache.cachedTenant(slug);
  }

  findBySlug(slug: string): Promise<TenantRecord | undefined> {
    return this.cache.tenant(slug, () => this.tenants.findRecordBySlug(slug));
  }
}
