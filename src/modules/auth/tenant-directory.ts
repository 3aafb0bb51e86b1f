import { Injectable } from '@nestjs/common';
import { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import { TenantCache, type TenantRecord } from 'src/core/cache/tenant-cache';

/** Tenant-by-slug lookups for the tenant guard, through the short-lived cache. */
@Injectable()
export class TenantDirectory {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly cache: TenantCache,
  ) {}

  async findBySlug(slug: string): Promise<TenantRecord | undefined> {
    const cached = await this.cache.getTenant(slug);
    if (cached) return cached;
    // Unknown slugs (typos, probing through X-Tenant) are answered from memory for a few seconds.
    if (this.cache.knownMissing(slug)) return undefined;
    const version = this.cache.tenantVersion();
    const record = await this.tenants.findRecordBySlug(slug);
    if (!record) {
      this.cache.rememberMissing(slug);
      return undefined;
    }
    await this.cache.setTenant(record, version);
    return record;
  }
}
