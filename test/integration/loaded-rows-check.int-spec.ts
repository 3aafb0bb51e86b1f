import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantEntitySubscriber } from 'src/core/database/tenant-entity.subscriber';
import { TenantIsolationViolationError } from 'src/core/errors/domain-error';
import { createApp } from 'src/main';
import { MetricsService } from 'src/core/metrics/metrics.service';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/** The ORM layer's check for rows read with plain SQL (the hot board reads). */
describe('TenantEntitySubscriber.verifyLoaded', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  const tenantA = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await createApp(db.config(), { databaseTarget: db.target });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  async function violations(type: string): Promise<number> {
    const metric = await app.get(MetricsService).isolationViolations.get();
    return metric.values.find((v) => v.labels.violation_type === type)?.value ?? 0;
  }

  it('accepts rows of the open tenant and refuses, and counts, a row of another tenant', async () => {
    const context = app.get(TenantContext);
    const subscriber = app.get(TenantEntitySubscriber);
    const before = await violations('cross_tenant_load');
    await context.run(async () => {
      context.setTenant({ id: tenantA, slug: 'a' });
      expect(() => subscriber.verifyLoaded('boards', [{ tenant_id: tenantA }])).not.toThrow();
      expect(() =>
        subscriber.verifyLoaded('boards', [{ tenant_id: tenantA }, { tenant_id: randomUUID() }]),
      ).toThrow(TenantIsolationViolationError);
    });
    expect(await violations('cross_tenant_load')).toBe(before + 1);
  });

  it('refuses rows read outside any tenant context', async () => {
    const before = await violations('load_without_tenant');
    expect(() => app.get(TenantEntitySubscriber).verifyLoaded('boards', [])).toThrow(
      TenantIsolationViolationError,
    );
    expect(await violations('load_without_tenant')).toBe(before + 1);
  });
});
