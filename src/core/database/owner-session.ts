import type { DataSource } from 'typeorm';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget } from './data-sources';
import { databaseStep } from './startup-failure';

/**
 * Runs owner-level work (migrations, audit, export, import) with BOARDS_DATABASE_OWNER_URL, and
 * closes everything afterwards.
 */
export async function withOwnerDataSource<T>(
  config: BoardsConfig,
  work: (owner: DataSource) => Promise<T>,
): Promise<T> {
  const target = await DatabaseTarget.open(config);
  try {
    const owner = await databaseStep('connect', 'owner', () => target.connect('owner'));
    try {
      return await work(owner);
    } finally {
      await owner.destroy();
    }
  } finally {
    await target.close();
  }
}
