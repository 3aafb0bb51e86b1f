import { Injectable } from '@nestjs/common';

/** What a feature seeded, for the caller (e.g. `{ boards: 2, generations: 4 }`). */
export type SampleDataReport = Readonly<Record<string, number>>;

export type SampleDataHook = (tenantId: string, ownerId: string) => Promise<SampleDataReport>;

/**
 * Features that have sample rows for a new tenant (boards and generations) register here; a tenant
 * created with sample data runs them in its creation transaction. Like MemberRemovalHooks, this
 * keeps the tenants module free of other features' tables: they come to it, not it to them.
 */
@Injectable()
export class SampleDataHooks {
  private readonly hooks: SampleDataHook[] = [];

  register(hook: SampleDataHook): void {
    this.hooks.push(hook);
  }

  async run(tenantId: string, ownerId: string): Promise<SampleDataReport> {
    const report: Record<string, number> = {};
    for (const hook of this.hooks) Object.assign(report, await hook(tenantId, ownerId));
    return report;
  }
}
