import type { HttpAdapterHost } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import type { TenantCache } from 'src/core/cache/tenant-cache';
import {
  TENANT_CHANGES_SQL,
  TenantRegistryWatcher,
  USER_CHANGES_BATCH,
  USER_CHANGES_SQL,
} from './tenant-registry.watcher';

/**
 * The watcher's reading of the user- and tenant-change logs, against an in-memory model of them:
 * entries carry the id of the transaction that wrote them and become visible when it commits,
 * which may be after newer entries; each committed entry must be applied exactly once, whatever
 * the order.
 */
describe('TenantRegistryWatcher and the change logs', () => {
  interface Entry {
    id: number;
    xact: number;
    key: string;
    committed: boolean;
    log: 'users' | 'tenants';
  }
  let entries: Entry[];
  let nextId: number;
  let nextXact: number;
  let logBroken: boolean;
  let forgottenTenants: string[];
  let forgotten: string[][];
  let forgotAllUsers: number;
  let forgotAllTenants: number;
  let confirmations: number[];
  let registryBroken: boolean;
  let watcher: TenantRegistryWatcher;

  beforeEach(() => {
    entries = [];
    nextId = 1;
    nextXact = 100;
    logBroken = false;
    forgottenTenants = [];
    forgotten = [];
    forgotAllUsers = 0;
    forgotAllTenants = 0;
    confirmations = [];
    registryBroken = false;
    const readLog = (log: Entry['log'], params: unknown[]) => {
      const [from, limit] = params as [string | null, number];
      const running = entries.filter((e) => !e.committed).map((e) => e.xact);
      const xmin = String(Math.min(nextXact, ...running));
      const rows = entries
        .filter((e) => e.log === log && e.committed && from !== null && e.xact >= Number(from))
        .sort((a, b) => a.id - b.id)
        .slice(0, limit)
        .map((e) => ({ xmin, id: String(e.id), xact: String(e.xact), key: e.key }));
      return Promise.resolve(rows.length > 0 ? rows : [{ xmin, id: null, xact: null, key: null }]);
    };
    const dataSource = {
      query: (sql: string, params: unknown[] = []) => {
        if (sql === TENANT_CHANGES_SQL) {
          if (registryBroken) return Promise.reject(new Error('connection terminated'));
          return readLog('tenants', params);
        }
        if (sql === USER_CHANGES_SQL) {
          if (logBroken)
            return Promise.reject(
              Object.assign(new Error('relation "user_changes" does not exist'), { code: '42P01' }),
            );
          return readLog('users', params);
        }
        return Promise.reject(new Error(`unexpected SQL ${sql}`));
      },
    } as unknown as DataSource;
    const cache = {
      forgetTenant: (slug: string) => {
        forgottenTenants.push(slug);
        return Promise.resolve();
      },
      forgetAllTenants: () => {
        forgotAllTenants++;
        return Promise.resolve();
      },
      forgetUsersByDigest: (digests: ReadonlySet<string>) => {
        forgotten.push([...digests].sort());
        return Promise.resolve();
      },
      forgetAllUsers: () => {
        forgotAllUsers++;
        return Promise.resolve();
      },
      confirmFresh: (startedAt: number) => {
        confirmations.push(startedAt);
      },
    } as unknown as TenantCache;
    watcher = new TenantRegistryWatcher({} as HttpAdapterHost, dataSource, cache);
  });

  /** A transaction that logs `keys` (one entry each) and commits when told to. */
  function transaction(...keys: string[]): { commit(): void } {
    return transactionOn('users', keys);
  }
  function transactionOn(log: Entry['log'], keys: string[]): { commit(): void } {
    const xact = nextXact++;
    const written = keys.map((key) => {
      const entry = { id: nextId++, xact, key, committed: false, log };
      entries.push(entry);
      return entry;
    });
    return {
      commit: () => {
        for (const entry of written) entry.committed = true;
      },
    };
  }
  const change = (...keys: string[]) => transaction(...keys).commit();

  it('confirms the cache fresh, as of the start of a check, only when both reads succeeded', async () => {
    const before = Date.now();
    await watcher.poll();
    expect(confirmations).toHaveLength(1);
    expect(confirmations[0]).toBeGreaterThanOrEqual(before);
    expect(confirmations[0]).toBeLessThanOrEqual(Date.now());

    registryBroken = true;
    await watcher.poll();
    registryBroken = false;
    logBroken = true;
    await watcher.poll();
    expect(confirmations).toHaveLength(1);

    logBroken = false;
    await watcher.poll();
    expect(confirmations).toHaveLength(2);
  });

  it('ignores what was logged before it started, then applies each new entry once', async () => {
    change('old1');
    change('old2');
    await watcher.poll();
    expect(forgotten).toEqual([]);

    change('k3');
    await watcher.poll();
    await watcher.poll();
    expect(forgotten).toEqual([['k3']]);

    change('k4', 'k5');
    await watcher.poll();
    expect(forgotten).toEqual([['k3'], ['k4', 'k5']]);
  });

  it('applies an entry whose transaction commits after newer ones, even with pruning meanwhile', async () => {
    change('old');
    await watcher.poll();
    const slow = transaction('late'); // takes its id first, commits last
    change('early');
    await watcher.poll();
    slow.commit();
    entries.shift(); // the old entry pruned in the same second: count and max(id) would not move
    await watcher.poll();
    await watcher.poll();
    expect(forgotten).toEqual([['early'], ['late']]);
  });

  it('still applies an entry that commits after more than a thousand newer ones', async () => {
    await watcher.poll();
    const slow = transaction('late');
    for (let i = 0; i < 1_200; i++) {
      change(`k${i}`);
      if (i % 100 === 99) await watcher.poll();
    }
    slow.commit();
    await watcher.poll();
    expect(forgotten.flat()).toHaveLength(1_201);
    expect(forgotten.at(-1)).toEqual(['late']);
    expect(forgotAllUsers).toBe(0);
  });

  it('drops every cached user when more entries arrive at once than it picks out one by one', async () => {
    await watcher.poll();
    for (let i = 0; i <= USER_CHANGES_BATCH; i++) change(`k${i}`);
    await watcher.poll();
    expect(forgotAllUsers).toBe(1);
    expect(forgotten).toEqual([]);

    // And carries on after them.
    change('next');
    await watcher.poll();
    expect(forgotten).toEqual([['next']]);
    expect(forgotAllUsers).toBe(1);
  });

  it('drops every cached user on a TRUNCATE of users (the all-stars entry)', async () => {
    await watcher.poll();
    change('*'.repeat(64));
    await watcher.poll();
    expect(forgotAllUsers).toBe(1);
  });

  it('drops every cached user once the log can be read, if it could not be at first', async () => {
    logBroken = true;
    await watcher.poll();
    change('missed');
    await watcher.poll();
    expect([forgotten, forgotAllUsers]).toEqual([[], 0]);
    logBroken = false;
    await watcher.poll();
    expect(forgotAllUsers).toBe(1);
    change('after');
    await watcher.poll();
    expect(forgotten).toEqual([['after']]);
  });

  it('catches up after failed reads without losing entries', async () => {
    await watcher.poll();
    logBroken = true;
    change('during-outage');
    await watcher.poll();
    logBroken = false;
    await watcher.poll();
    expect(forgotten).toEqual([['during-outage']]);
    expect(forgotAllUsers).toBe(0);
  });

  it('keeps watching tenants when the user log cannot be read (migration pending)', async () => {
    logBroken = true;
    await watcher.poll();
    transactionOn('tenants', ['acme']).commit();
    expect(await watcher.poll()).toBe(true);
    expect(forgottenTenants).toEqual(['acme']);
  });

  it('drops a tenant whose change commits after a later change of another tenant (transaction order, not time)', async () => {
    await watcher.poll();
    const suspension = transactionOn('tenants', ['acme']); // starts first, commits last
    transactionOn('tenants', ['globex']).commit();
    expect(await watcher.poll()).toBe(true);
    expect(forgottenTenants).toEqual(['globex']);
    suspension.commit();
    expect(await watcher.poll()).toBe(true);
    expect(forgottenTenants).toEqual(['globex', 'acme']);
    expect(await watcher.poll()).toBe(false);
  });

  it('drops every cached tenant on a TRUNCATE of tenants, or once the log is readable after a failed first read', async () => {
    registryBroken = true;
    await watcher.poll();
    registryBroken = false;
    await watcher.poll();
    expect(forgotAllTenants).toBe(1);
    transactionOn('tenants', ['*']).commit();
    await watcher.poll();
    expect(forgotAllTenants).toBe(2);
    expect(forgottenTenants).toEqual([]);
  });
});
