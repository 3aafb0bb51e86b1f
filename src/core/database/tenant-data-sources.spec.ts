import type { DataSource } from 'typeorm';
import { DomainError } from 'src/core/errors/domain-error';
import { TenantDataSources, TenantDataSourcesBusyError } from './tenant-data-sources';

/**
 * The bookkeeping of TenantDataSources with stand-in data sources (the real ones are exercised
 * on PostgreSQL by test/integration/tenant-databases.int-spec.ts): a closing data source still
 * counts against the budget while its key opens a fresh one, an evicted one takes no new lease
 * and closes only when its leases are back, and a request that finds no room is a 503.
 */

interface FakeSource {
  readonly key: string;
  isInitialized: boolean;
  destroy(): Promise<void>;
}

function sources(options: { cacheSize: number; connectionBudget: number; waitMs?: number }) {
  const opened: FakeSource[] = [];
  const pool = new TenantDataSources({
    ...options,
    idleMs: 60_000,
    waitMs: options.waitMs ?? 2_000,
    open: async (key) => {
      const source: FakeSource = {
        key,
        isInitialized: true,
        destroy: async () => {
          source.isInitialized = false;
        },
      };
      opened.push(source);
      return source as unknown as DataSource;
    },
  });
  return { pool, opened };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('TenantDataSources', () => {
  it('an evicted data source takes no new lease and closes once its lease is returned', async () => {
    const { pool, opened } = sources({ cacheSize: 2, connectionBudget: 2 });
    try {
      const first = await pool.lease('a');
      const evicted = pool.evict('a');
      await settle();
      expect(opened[0].isInitialized).toBe(true); // still lent
      const fresh = await pool.lease('a');
      expect(fresh.dataSource).not.toBe(first.dataSource);
      first.release();
      await evicted;
      expect(opened[0].isInitialized).toBe(false);
      expect(opened[1].isInitialized).toBe(true);
      fresh.release();
    } finally {
      await pool.close();
    }
  });

  it('a closing data source still counts against the budget while its key opens a fresh one', async () => {
    const { pool, opened } = sources({ cacheSize: 2, connectionBudget: 2 });
    try {
      const old = await pool.lease('a');
      void pool.evict('a');
      const fresh = await pool.lease('a');
      // One connection each: the draining one and the fresh one fill the budget of two.
      expect(pool.usage).toEqual({ open: 1, leases: 2, reservedConnections: 2 });
      let bOpened = false;
      const b = pool.lease('b').then((lease) => {
        bOpened = true;
        return lease;
      });
      await settle();
      expect(bOpened).toBe(false);
      expect(opened.map((source) => source.key)).toEqual(['a', 'a']);
      old.release(); // the draining one closes, which makes room
      const lease = await b;
      expect(opened[0].isInitialized).toBe(false);
      expect(pool.usage.reservedConnections).toBe(2);
      lease.release();
      fresh.release();
    } finally {
      await pool.close();
    }
  });

  it('a request that finds no room within waitMs is a 503 with Retry-After', async () => {
    const { pool } = sources({ cacheSize: 1, connectionBudget: 1, waitMs: 50 });
    try {
      const held = await pool.lease('a');
      const refusal = await pool.lease('b').catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(TenantDataSourcesBusyError);
      expect(refusal).toBeInstanceOf(DomainError);
      expect(refusal).toMatchObject({
        apiCode: 'service_unavailable',
        headers: { 'Retry-After': '1' },
      });
      held.release();
    } finally {
      await pool.close();
    }
  });

  it('an open that fails frees its place and the next request tries again', async () => {
    let fail = true;
    const pool = new TenantDataSources({
      cacheSize: 1,
      connectionBudget: 1,
      idleMs: 60_000,
      waitMs: 1_000,
      open: async () => {
        if (fail) throw new Error('server down');
        return { isInitialized: true, destroy: async () => undefined } as unknown as DataSource;
      },
    });
    try {
      await expect(pool.lease('a')).rejects.toThrow('server down');
      expect(pool.usage).toEqual({ open: 0, leases: 0, reservedConnections: 0 });
      fail = false;
      const lease = await pool.lease('a');
      expect(pool.usage).toEqual({ open: 1, leases: 1, reservedConnections: 1 });
      lease.release();
    } finally {
      await pool.close();
    }
  });
});
