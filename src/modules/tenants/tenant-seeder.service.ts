import { Injectable } from '@nestjs/common';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { User } from 'src/modules/auth/user.entity';
import { Board } from 'src/modules/boards/board.entity';
import { Generation, type ArtifactType } from 'src/modules/boards/generation.entity';

const SAMPLE_BOARDS: {
  title: string;
  description: string;
  isPublic: boolean;
  generations: [string, ArtifactType, string][];
}[] = [
  {
    title: 'Welcome board',
    description: 'A public board to show what boards look like. Delete it whenever you like.',
    isPublic: true,
    generations: [
      ['flux-schnell', 'image', 'A lighthouse at dawn, watercolor'],
      ['musicgen', 'audio', 'Calm piano loop, 20 seconds'],
    ],
  },
  {
    title: 'Campaign ideas',
    description: 'A private board for drafts.',
    isPublic: false,
    generations: [
      ['gpt-text', 'text', 'Three slogans for a spring campaign'],
      ['stable-video', 'video', 'Slow pan across a flower field'],
    ],
  },
];

/**
 * The first rows of a new tenant, in its open transaction: its admin user, and on request a
 * small set of sample boards and generations.
 */
@Injectable()
export class TenantSeeder {
  constructor(private readonly transactions: TenantTransactions) {}

  /** Sample boards and generations owned by `ownerId`. */
  async sampleData(
    tenantId: string,
    ownerId: string,
  ): Promise<{ boards: number; generations: number }> {
    const manager = this.transactions.manager;
    let generations = 0;
    for (const sample of SAMPLE_BOARDS) {
      const board = await manager.getRepository(Board).save(
        manager.getRepository(Board).create({
          tenantId,
          ownerId,
          title: sample.title,
          description: sample.description,
          isPublic: sample.isPublic,
          settings: {},
          metadata: { sample: true },
          version: 1,
        }),
      );
      for (const [generatorName, artifactType, prompt] of sample.generations) {
        await manager.getRepository(Generation).save(
          manager.getRepository(Generation).create({
            tenantId,
            boardId: board.id,
            userId: ownerId,
            generatorName,
            artifactType,
            inputParams: { prompt },
            status: 'completed',
            progress: 100,
            outputMetadata: { sample: true },
          }),
        );
        generations++;
      }
    }
    return { boards: SAMPLE_BOARDS.length, generations };
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
