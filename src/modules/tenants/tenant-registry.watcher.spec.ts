import type { HttpAdapterHost } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import type { TenantCache } from 'src/core/cache/tenant-cache';
import {
  REGISTRY_FINGERPRINT_SQL,
  TenantRegistryWatcher,
  USER_CHANGES_BATCH,
  USER_CHANGES_SQL,
} from './tenant-registry.watcher';

/**
 * The watcher's bookkeeping of the user-change log, against an in-memory log: entries become
 * visible in commit order, which may differ from id order, and each must be applied exactly once.
 */
describe('TenantRegistryWatcher and the user-change log', () => {
  interface Entry {
    id: number;
    user_key: string;
  }
  let visible: Entry[];
  let forgotten: string[][];
  let forgotAll: number;
  let watcher: TenantRegistryWatcher;

  beforeEach(() => {
    visible = [];
    forgotten = [];
    forgotAll = 0;
    const dataSource = {
      query: (sql: string, params: unknown[] = []) => {
        if (sql === REGISTRY_FINGERPRINT_SQL) {
          const max = Math.max(0, ...visible.map((e) => e.id));
          return Promise.resolve([
            { tenants: 1, changed: null, user_changes: `${visible.length}:${max}` },
          ]);
        }
        if (sql === USER_CHANGES_SQL) {
          const [after, limit] = params as [number, number];
          const rows = visible
            .filter((e) => e.id > after)
            .sort((a, b) => a.id - b.id)
            .slice(0, limit)
            .map((e) => ({ id: String(e.id), user_key: e.user_key }));
          return Promise.resolve(rows);
        }
        return Promise.reject(new Error(`unexpected SQL ${sql}`));
      },
    } as unknown as DataSource;
    const cache = {
      forgetAllTenants: () => Promise.resolve(),
      forgetUsersByDigest: (digests: ReadonlySet<string>) => {
        forgotten.push([...digests].sort());
        return Promise.resolve();
      },
      forgetAllUsers: () => {
        forgotAll++;
        return Promise.resolve();
      },
    } as unknown as TenantCache;
    watcher = new TenantRegistryWatcher({} as HttpAdapterHost, dataSource, cache);
  });

  const commit = (id: number, key = `k${id}`) => visible.push({ id, user_key: key });

  it('ignores what was logged before it started, then applies each new entry once', async () => {
    commit(1);
    commit(2);
    await watcher.poll();
    expect(forgotten).toEqual([]);

    commit(3);
    await watcher.poll();
    await watcher.poll();
    expect(forgotten).toEqual([['k3']]);

    commit(4);
    commit(5);
    await watcher.poll();
    expect(forgotten).toEqual([['k3'], ['k4', 'k5']]);
  });

  it('applies an entry that commits after a newer one (ids are taken before commit)', async () => {
    await watcher.poll();
    commit(2); // id 1 still in an open transaction
    await watcher.poll();
    commit(1);
    await watcher.poll();
    expect(forgotten).toEqual([['k2'], ['k1']]);
  });

  it('drops every cached user when more entries arrive at once than it picks out one by one', async () => {
    await watcher.poll();
    for (let id = 1; id <= USER_CHANGES_BATCH + 1; id++) commit(id);
    await watcher.poll();
    expect(forgotAll).toBe(1);
    expect(forgotten).toEqual([]);

    // And carries on from the newest entry.
    commit(USER_CHANGES_BATCH + 2);
    await watcher.poll();
    expect(forgotten).toEqual([[`k${USER_CHANGES_BATCH + 2}`]]);
  });

  it('notices pruning without dropping anything', async () => {
    commit(1);
    commit(2);
    await watcher.poll();
    visible.shift();
    await watcher.poll();
    expect(forgotten).toEqual([]);
    expect(forgotAll).toBe(0);
  });
});
