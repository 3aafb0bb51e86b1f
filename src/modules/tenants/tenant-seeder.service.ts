import { Injectable } from '@nestjs/common';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { User } from 'src/modules/auth/user.entity';
import { SampleDataHooks, type SampleDataReport } from './sample-data.hooks';

/**
 * The first rows of a new tenant, in its open transaction: its admin user, and on request the
 * features' sample data.
 */
@Injectable()
export class TenantSeeder {
  constructor(
    private readonly transactions: TenantTransactions,
    private readonly samples: SampleDataHooks,
  ) {}

  /** Sample rows owned by `ownerId`, from every feature that registered some (SampleDataHooks). */
  sampleData(tenantId: string, ownerId: string): Promise<SampleDataReport> {
    return this.samples.run(tenantId, ownerId);
  }

  /** The tenant's first admin (the registrant), keyed like any just-in-time user. */
  async adminUser(
    tenantId: string,
    admin: { provider: string; subject: string; email: string | null; displayName: string | null },
  ): Promise<string> {
    const repository = this.transactions.manager.getRepository(User);
    const user = await repository.save(
      repository.create({
        tenantId,
        tenantRole: 'admin',
        membershipSource: 'registration',
        authProvider: admin.provider,
        authSubject: admin.subject,
        email: admin.email,
        displayName: admin.displayName,
        metadata: {},
      }),
    );
    return user.id;
  }

  /** The owner of sample data when no person of the tenant exists yet (tenants made by a platform admin). */
  async systemUser(tenantId: string): Promise<string> {
    const repository = this.transactions.manager.getRepository(User);
    const user = await repository.save(
      repository.create({
        tenantId,
        tenantRole: 'member',
        membershipSource: 'system',
        authProvider: 'system',
        authSubject: 'sample-data',
        displayName: 'Sample data',
        metadata: { system: true },
      }),
    );
    return user.id;
  }
}
