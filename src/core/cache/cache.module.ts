import { Global, Module } from '@nestjs/common';
import { TenantCache } from './tenant-cache';
import { TenantRegistryWatcher } from './tenant-registry.watcher';

/**
 * The tenant and user cache (two tiers: process memory, then Redis) and the watcher that drops
 * its entries when the registry's change logs say a tenant or user changed.
 */
@Global()
@Module({ providers: [TenantCache, TenantRegistryWatcher], exports: [TenantCache] })
export class CacheModule {}
