import { PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Base of tenant-owned entities whose primary key is (tenant_id, id). Any entity with a `tenantId`
 * column is tenant-owned for the TenantEntitySubscriber, which stamps it on insert and checks it on
 * every write and load.
 */
export abstract class TenantOwnedEntity {
  @PrimaryColumn('uuid')
  tenantId: string;

  @PrimaryGeneratedColumn('uuid')
  id: string;
}
