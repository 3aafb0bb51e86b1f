import { Injectable, type OnModuleInit } from '@nestjs/common';
import { SampleDataHooks } from 'src/modules/tenants/sample-data.hooks';
import { BoardsRepository } from './boards.repository';
import type { ArtifactType } from './generation.entity';
import { GenerationsRepository } from './generations.repository';

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

/** A new tenant's sample boards and generations (tenants created with sample data). */
@Injectable()
export class BoardSamples implements OnModuleInit {
  constructor(
    private readonly hooks: SampleDataHooks,
    private readonly boards: BoardsRepository,
    private readonly generations: GenerationsRepository,
  ) {}

  onModuleInit(): void {
    this.hooks.register((tenantId, ownerId) => this.seed(tenantId, ownerId));
  }

  async seed(tenantId: string, ownerId: string): Promise<{ boards: number; generations: number }> {
    let generations = 0;
    for (const sample of SAMPLE_BOARDS) {
      const board = await this.boards.insert({
        tenantId,
        ownerId,
        title: sample.title,
        description: sample.description,
        isPublic: sample.isPublic,
        settings: {},
        metadata: { sample: true },
      });
      for (const [generatorName, artifactType, prompt] of sample.generations) {
        await this.generations.insert({
          tenantId,
          boardId: board.id,
          userId: ownerId,
          generatorName,
          artifactType,
          inputParams: { prompt },
          completedWith: { sample: true },
        });
        generations++;
      }
    }
    return { boards: SAMPLE_BOARDS.length, generations };
  }
}
