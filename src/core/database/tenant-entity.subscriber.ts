import { Injectable } from '@nestjs/common';
import {
  DataSource,
  type EntityMetadata,
  type EntitySubscriberInterface,
  type InsertEvent,
  type LoadEvent,
  type RemoveEvent,
  type SoftRemoveEvent,
  type UpdateEvent,
} from 'typeorm';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantIsolationViolationError } from 'src/core/errors/domain-error';
import { MetricsService } from 'src/core/metrics/metrics.service';

export type ViolationType =
  | 'insert_without_tenant'
  | 'cross_tenant_insert'
  | 'write_without_tenant'
  | 'cross_tenant_update'
  | 'cross_tenant_remove'
  | 'load_without_tenant'
  | 'cross_tenant_load';

/**
 * The ORM isolation layer: stamps tenant_id on insert, refuses writes of another tenant's entity,
 * and checks every loaded entity. A mismatch throws and increments
 * boards_tenant_isolation_violations_total{violation_type}. Registered on the runtime data source
 * only; owner-level tools run without a tenant on purpose.
 */
@Injectable()
export class TenantEntitySubscriber implements EntitySubscriberInterface {
  constructor(
    dataSource: DataSource,
    private readonly context: TenantContext,
    private readonly metrics: MetricsService,
  ) {
    dataSource.subscribers.push(this);
  }

  beforeInsert(event: InsertEvent<Record<string, unknown>>): void {
    if (!isTenantOwned(event.metadata) || !event.entity) return;
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) this.violation('insert_without_tenant', event.metadata);
    const stamped = event.entity.tenantId;
    if (stamped !== undefined && stamped !== null && stamped !== tenantId) {
      this.violation('cross_tenant_insert', event.metadata);
    }
    event.entity.tenantId = tenantId;
  }

  beforeUpdate(event: UpdateEvent<Record<string, unknown>>): void {
    if (!isTenantOwned(event.metadata)) return;
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) this.violation('write_without_tenant', event.metadata);
    for (const entity of [event.entity, event.databaseEntity]) {
      const owner = (entity as Record<string, unknown> | undefined)?.tenantId;
      if (owner !== undefined && owner !== tenantId)
        this.violation('cross_tenant_update', event.metadata);
    }
  }

  beforeRemove(event: RemoveEvent<Record<string, unknown>>): void {
    this.checkRemoval(event);
  }

  beforeSoftRemove(event: SoftRemoveEvent<Record<string, unknown>>): void {
    this.checkRemoval(event);
  }

  afterLoad(entity: Record<string, unknown>, event?: LoadEvent<Record<string, unknown>>): void {
    if (!event || !isTenantOwned(event.metadata)) return;
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) this.violation('load_without_tenant', event.metadata);
    if (entity.tenantId !== undefined && entity.tenantId !== tenantId) {
      this.violation('cross_tenant_load', event.metadata);
    }
  }

  /**
   * The afterLoad check for rows read with plain SQL (the hot read paths skip entity hydration):
   * every row must belong to the open tenant transaction's tenant. Same violation types, same
   * counter.
   */
  verifyLoaded(tableName: string, rows: readonly { tenant_id: string }[]): void {
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) this.violationIn('load_without_tenant', tableName);
    for (const row of rows) {
      if (row.tenant_id !== tenantId) this.violationIn('cross_tenant_load', tableName);
    }
  }

  /**
   * The check of a plain-SQL read made for `tenantId` (TenantScopedRepository.select): inside a
   * request bound to a tenant, the read must be for that tenant; every row must belong to it (or,
   * before the request is bound — admission, registration, platform work — to `tenantId`).
   */
  verifyRead(tableName: string, tenantId: string, rows: readonly { tenant_id?: unknown }[]): void {
    const bound = this.context.optionalTenantId;
    if (bound !== undefined && bound !== tenantId) this.violationIn('cross_tenant_load', tableName);
    const expected = bound ?? tenantId;
    for (const row of rows) {
      if (row.tenant_id !== expected) this.violationIn('cross_tenant_load', tableName);
    }
  }

  private checkRemoval(
    event: RemoveEvent<Record<string, unknown>> | SoftRemoveEvent<Record<string, unknown>>,
  ): void {
    if (!isTenantOwned(event.metadata)) return;
    const tenantId = this.context.optionalTenantId;
    if (!tenantId) this.violation('write_without_tenant', event.metadata);
    for (const entity of [event.entity, event.databaseEntity]) {
      const owner = (entity as Record<string, unknown> | undefined)?.tenantId;
      if (owner !== undefined && owner !== tenantId)
        this.violation('cross_tenant_remove', event.metadata);
    }
  }

  private violation(type: ViolationType, metadata: EntityMetadata): never {
    return this.violationIn(type, metadata.tableName);
  }

  private violationIn(type: ViolationType, tableName: string): never {
    this.metrics.isolationViolations.inc({ violation_type: type });
    throw new TenantIsolationViolationError(type, tableName);
  }
}

function isTenantOwned(metadata: EntityMetadata): boolean {
  return metadata.findColumnWithPropertyName('tenantId') !== undefined;
}
