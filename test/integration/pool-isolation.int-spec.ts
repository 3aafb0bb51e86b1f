import { AsyncLocalStorage } from 'node:async_hooks';
import { ClsService } from 'nestjs-cls';
import { Client } from 'pg';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import {
  createTenant,
  inTenant,
  insertBoard,
  insertUser,
  uniqueMarker,
  type SeededTenant,
} from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';
import { seededRandom } from 'test/factories/random';

/**
 * Layer 2 of the isolation design (DESIGN.md §2) under load: many tenants share a small pool, and
 * thousands of interleaved TenantTransactions (some failing after a write) must each see only their
 * own tenant, leave no tenant setting behind on a pooled connection, and leave no rolled-back row.
 * Needs a real server: the embedded database is a single session and serializes everything.
 */

const TENANTS = 20;
const BOARDS_PER_TENANT = 3;
const TRANSACTIONS = 2_000;
const CONCURRENCY = 40;
const POOL_SIZE = 5;

type Kind = 'read' | 'commit-write' | 'throw-after-write' | 'sql-error-after-write';

interface Step {
  readonly index: number;
  readonly tenant: number;
  readonly kind: Kind;
  readonly pauses: readonly [number, number];
}

interface Observation {
  readonly index: number;
  readonly tenant: number;
  readonly pid: number;
  readonly foreignRows: number;
  readonly seedRows: number;
  readonly settingsMatched: boolean;
}

class ForcedFailure extends Error {
  constructor(readonly index: number) {
    super(`forced failure in transaction ${index}`);
  }
}

function plan(seed: number): Step[] {
  const next = seededRandom(seed);
  return Array.from({ length: TRANSACTIONS }, (_, index) => {
    const roll = next();
    const kind: Kind =
      roll < 0.05
        ? 'throw-after-write'
        : roll < 0.1
          ? 'sql-error-after-write'
          : roll < 0.3
            ? 'commit-write'
            : 'read';
    return {
      index,
      tenant: Math.floor(next() * TENANTS),
      kind,
      pauses: [Math.floor(next() * 3), Math.floor(next() * 3)],
    };
  });
}

/** Yields to the event loop: 0 = a microtask hop, otherwise a timer of that many ms. */
function pause(ms: number): Promise<void> {
  return ms === 0
    ? new Promise((resolve) => setImmediate(resolve))
    : new Promise((resolve) => setTimeout(resolve, ms));
}

describeWithPostgres('pool isolation: 2,000 interleaved tenant transactions on a pool of 5', () => {
  let db: TestDatabase;
  let tenants: SeededTenant[];
  let owners: string[];
  let transactions: TenantTransactions;

  const title = (tenant: SeededTenant, kind: string, n: number) => `${tenant.slug}/${kind}/${n}`;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: POOL_SIZE });
    const run = uniqueMarker('pool');
    tenants = [];
    owners = [];
    for (let i = 0; i < TENANTS; i++) {
      const tenant = await createTenant(db.owner, `${run}-t${i}`);
      const owner = await inTenant(db.runtime, tenant.id, async (runner) => {
        const ownerId = await insertUser(runner, `${tenant.slug}-owner`);
        for (let n = 0; n < BOARDS_PER_TENANT; n++) {
          await insertBoard(runner, ownerId, title(tenant, 'seed', n), tenant.slug);
        }
        return ownerId;
      });
      tenants.push(tenant);
      owners.push(owner);
    }
    // The class the API uses, on the runtime data source, with an AsyncLocalStorage store of
    // its own (the same ClsService nestjs-cls builds inside Nest).
    transactions = new TenantTransactions(db.runtime, new ClsService(new AsyncLocalStorage()));
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('every transaction sees only its tenant; failed ones leave nothing behind', async () => {
    expect(db.env.BOARDS_DATABASE_POOL_SIZE).toBe(String(POOL_SIZE));
    expect((db.runtime.options as PostgresDataSourceOptions).poolSize).toBe(POOL_SIZE);

    const seed = Date.now() % 2_147_483_647;
    const steps = plan(seed);
    const planned = (kind: Kind) => steps.filter((step) => step.kind === kind);
    const failuresPlanned =
      planned('throw-after-write').length + planned('sql-error-after-write').length;
    expect(failuresPlanned / TRANSACTIONS).toBeGreaterThan(0.06);
    expect(failuresPlanned / TRANSACTIONS).toBeLessThan(0.14);

    const observations: Observation[] = [];
    const unexpected: string[] = [];
    let failures = 0;
    let inside = 0;
    let maxInside = 0;

    const execute = (step: Step) => {
      const tenant = tenants[step.tenant];
      return transactions.run(tenant.id, async (manager) => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        try {
          const [first] = (await manager.query(
            `SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant`,
          )) as { pid: number; tenant: string }[];
          await pause(step.pauses[0]);
          const rows = (await manager.query(
            `SELECT tenant_id::text AS tenant_id, title, metadata->>'marker' AS marker FROM boards`,
          )) as { tenant_id: string; title: string; marker: string }[];
          if (step.kind !== 'read') {
            const kind = step.kind === 'commit-write' ? 'committed' : 'rolled-back';
            await insertBoard(
              manager,
              owners[step.tenant],
              title(tenant, kind, step.index),
              tenant.slug,
            );
          }
          await pause(step.pauses[1]);
          const [last] = (await manager.query(
            `SELECT current_setting('app.tenant_id', true) AS tenant`,
          )) as { tenant: string }[];
          observations.push({
            index: step.index,
            tenant: step.tenant,
            pid: first.pid,
            foreignRows: rows.filter(
              (row) =>
                row.tenant_id !== tenant.id ||
                row.marker !== tenant.slug ||
                !row.title.startsWith(`${tenant.slug}/`),
            ).length,
            seedRows: rows.filter((row) => row.title.startsWith(`${tenant.slug}/seed/`)).length,
            settingsMatched: first.tenant === tenant.id && last.tenant === tenant.id,
          });
          if (step.kind === 'throw-after-write') throw new ForcedFailure(step.index);
          if (step.kind === 'sql-error-after-write') await manager.query('SELECT 1 / 0');
        } finally {
          inside--;
        }
      });
    };

    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < steps.length) {
        const step = steps[next++];
        try {
          await execute(step);
          if (step.kind === 'throw-after-write' || step.kind === 'sql-error-after-write') {
            unexpected.push(`transaction ${step.index} (${step.kind}) committed`);
          }
        } catch (err) {
          const forced =
            (step.kind === 'throw-after-write' &&
              err instanceof ForcedFailure &&
              err.index === step.index) ||
            (step.kind === 'sql-error-after-write' && (err as { code?: string }).code === '22012');
          if (forced) failures++;
          else unexpected.push(`transaction ${step.index} (${step.kind}): ${String(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedMs = performance.now() - started;

    const pids = new Map<number, Set<number>>();
    for (const o of observations) pids.set(o.pid, (pids.get(o.pid) ?? new Set()).add(o.tenant));
    const foreignRows = observations.reduce((sum, o) => sum + o.foreignRows, 0);
    process.stderr.write(
      `pool isolation: ${TRANSACTIONS} transactions (${failures} forced failures) for ${TENANTS} tenants ` +
        `on ${pids.size} pooled connections (max ${maxInside} open at once, ${CONCURRENCY} callers) ` +
        `in ${Math.round(elapsedMs)} ms (seed ${seed}); foreign rows seen: ${foreignRows}\n`,
    );

    expect(unexpected).toEqual([]);
    expect(observations).toHaveLength(TRANSACTIONS);
    expect(failures).toBe(failuresPlanned);
    expect(foreignRows).toBe(0);
    expect(observations.filter((o) => !o.settingsMatched)).toEqual([]);
    expect(observations.filter((o) => o.seedRows !== BOARDS_PER_TENANT)).toEqual([]);
    // The pool really was shared: at most POOL_SIZE connections, each serving many tenants.
    expect(pids.size).toBeLessThanOrEqual(POOL_SIZE);
    expect(pids.size).toBeGreaterThan(1);
    expect(maxInside).toBeGreaterThan(1);
    expect(maxInside).toBeLessThanOrEqual(POOL_SIZE);
    for (const served of pids.values()) expect(served.size).toBeGreaterThan(1);

    // Every pooled connection, checked out at once after the run, carries no tenant.
    const runners = Array.from({ length: POOL_SIZE }, () => db.runtime.createQueryRunner());
    try {
      await Promise.all(runners.map((runner) => runner.connect()));
      const leftovers = await Promise.all(
        runners.map(async (runner) => {
          const [row] = (await runner.query(
            `SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant,
                    (SELECT count(*)::int FROM boards) AS boards`,
          )) as { pid: number; tenant: string | null; boards: number }[];
          return row;
        }),
      );
      expect(new Set(leftovers.map((row) => row.pid)).size).toBe(POOL_SIZE);
      for (const row of leftovers)
        expect({ tenant: row.tenant ?? '', boards: row.boards }).toEqual({ tenant: '', boards: 0 });
    } finally {
      await Promise.all(runners.map((runner) => runner.release()));
    }

    // Each tenant sees exactly its seeds and its committed writes, through the runtime role.
    for (const [i, tenant] of tenants.entries()) {
      const committed = planned('commit-write').filter((step) => step.tenant === i).length;
      const visible = (await inTenant(db.runtime, tenant.id, (runner) =>
        runner.query(`SELECT tenant_id::text AS tenant_id, title FROM boards`),
      )) as { tenant_id: string; title: string }[];
      expect({ tenant: tenant.slug, rows: visible.length }).toEqual({
        tenant: tenant.slug,
        rows: BOARDS_PER_TENANT + committed,
      });
      expect(visible.filter((row) => row.title.includes('/rolled-back/'))).toEqual([]);
    }

    // Ground truth as the superuser (RLS does not apply): no rolled-back row exists anywhere, and
    // every row's tenant_id matches the tenant its marker names.
    const admin = new Client({ connectionString: adminUrlOf(db) });
    await admin.connect();
    try {
      const { rows } = await admin.query<{
        rolled_back: number;
        committed: number;
        mislabeled: number;
      }>(
        `SELECT count(*) FILTER (WHERE b.title LIKE '%/rolled-back/%')::int AS rolled_back,
                count(*) FILTER (WHERE b.title LIKE '%/committed/%')::int AS committed,
                count(*) FILTER (WHERE t.slug IS DISTINCT FROM b.metadata->>'marker')::int AS mislabeled
           FROM boards b LEFT JOIN tenants t ON t.id = b.tenant_id`,
      );
      expect(rows[0]).toEqual({
        rolled_back: 0,
        committed: planned('commit-write').length,
        mislabeled: 0,
      });
    } finally {
      await admin.end();
    }
  }, 180_000);
});
