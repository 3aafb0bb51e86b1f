import { Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { BoardsConfig } from 'src/core/config/boards-config';
import { DatabaseTarget, withDataSourceAt } from './data-sources';
import {
  TenantDatabaseLocator,
  checkedLocation,
  sameDatabase,
  type TenantDatabasePlace,
} from './tenant-database-locator';
import {
  TenantDatabaseProvisioner,
  type ProvisioningResult,
  type ProvisioningStep,
  type TenantDatabaseCheck,
} from './tenant-database-provisioner';
import { redactedUrl } from './tenant-database-url';
import { TenantRouter } from './tenant-router';
import { TenantTransactions } from './tenant-transactions';

/** A tenant's registry row as provisioning writes it (the control database), status aside. */
export interface ReservedTenant {
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  readonly settings: Record<string, unknown>;
  readonly allowedIssuers: readonly string[];
  readonly claimsAdmit: boolean;
  readonly registeredBy: string | null;
}

/** What `tenant_databases` says about one tenant database. */
export interface TenantDatabaseRecord {
  readonly tenant: string;
  readonly slug: string;
  readonly location: string | null;
  readonly state: 'provisioning' | 'ready' | 'dropping';
  /** What provisioning still has to write (the first admin, sample data); null once ready. */
  readonly seed: unknown;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly updatedAt: Date;
  /** Whether the tenant is still in the registry (a record without one is to be dropped). */
  readonly registered: boolean;
  /** Where the database is, for the locator. */
  readonly tenantPlace: TenantDatabasePlace;
}

interface RecordRow {
  tenant: string;
  slug: string;
  location: string | null;
  state: TenantDatabaseRecord['state'];
  seed: unknown;
  attempts: number;
  last_error: string | null;
  updated_at: Date;
  registered: boolean;
}

/**
 * The life of tenant databases (BOARDS_TENANT_ISOLATION=database), in steps that can each be
 * repeated after a crash:
 *
 * 1. `reserve`: the registry row (status `provisioning`, so the tenant answers nothing yet and
 *    its slug is taken) and its `tenant_databases` record with the seed still to write, in one
 *    transaction of the control database.
 * 2. `createDatabase`: CREATE DATABASE, grants and migrations (TenantDatabaseProvisioner), then
 *    the tenant's one row of `tenants` there (status `provisioning` until seeded); refused when
 *    the database holds another tenant (a slug reused while an old database is still there).
 * 3. The caller seeds the tenant in its own transaction and marks it seeded there (`seeded`,
 *    `markSeeded`), so a retry never seeds twice.
 * 4. `activate`: the registry row takes its final status, the record becomes `ready`.
 *
 * Deletion removes the registry row first (the caller), then `dropDatabase` drops the database;
 * a failure leaves the record (its tenant gone) for `boards tenant cleanup`, which also finishes
 * provisioning that stopped half-way.
 *
 * The control database's rows are written with the owner connection (BOARDS_DATABASE_OWNER_URL):
 * the runtime role only reads `tenant_databases`.
 */
@Injectable()
export class TenantDatabases implements OnApplicationShutdown {
  private readonly logger = new Logger('TenantDatabases');
  private owner: Promise<DataSource> | undefined;
  readonly locator: TenantDatabaseLocator;
  readonly provisioner: TenantDatabaseProvisioner;

  constructor(
    private readonly config: BoardsConfig,
    private readonly control: DataSource,
    private readonly target: DatabaseTarget,
    private readonly transactions: TenantTransactions,
    @Optional() private readonly router?: TenantRouter,
  ) {
    this.locator = new TenantDatabaseLocator(config.tenancy, control);
    this.provisioner = new TenantDatabaseProvisioner({
      runtimeRole: config.database.runtimeRole,
      connectTimeoutMs: config.database.connectTimeoutMs,
    });
  }

  /** Whether each tenant has a database of its own. */
  get enabled(): boolean {
    return this.config.tenancy.isolation === 'database';
  }

  /** Step 1: the registry row in `provisioning` and the record with its seed, in one transaction. */
  async reserve(tenant: ReservedTenant, seed: unknown): Promise<void> {
    const owner = await this.ownerSource();
    await owner.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO tenants (id, name, slug, status, settings, allowed_issuers, claims_admit, registered_by)
         VALUES ($1, $2, $3, 'provisioning', $4::jsonb, $5::text[], $6, $7)`,
        [
          tenant.id,
          tenant.name,
          tenant.slug,
          JSON.stringify(tenant.settings),
          [...tenant.allowedIssuers],
          tenant.claimsAdmit,
          tenant.registeredBy,
        ],
      );
      await manager.query(
        `INSERT INTO tenant_databases (tenant, slug, state, seed) VALUES ($1, $2, 'provisioning', $3::jsonb)
         ON CONFLICT (tenant) DO UPDATE SET state = 'provisioning', seed = EXCLUDED.seed, updated_at = now()`,
        [tenant.id, tenant.slug, JSON.stringify(seed ?? null)],
      );
    });
  }

  /**
   * Step 2: the tenant's database, created and migrated (again, harmlessly, on a retry), holding
   * the tenant's own `tenants` row in `status` (`provisioning` until seeded, or the final one when
   * nothing is to be seeded).
   */
  async createDatabase(
    tenantId: string,
    status: string,
    onStep?: (step: ProvisioningStep, database: string) => void | Promise<void>,
  ): Promise<ProvisioningResult> {
    const place = await this.locator.place(tenantId);
    const ownerUrl = this.locator.ownerUrl(place);
    await this.assertFreeFor(tenantId, ownerUrl);
    await this.bumpAttempts(tenantId, place);
    const provisioner = onStep
      ? new TenantDatabaseProvisioner({
          runtimeRole: this.config.database.runtimeRole,
          connectTimeoutMs: this.config.database.connectTimeoutMs,
          onStep,
        })
      : this.provisioner;
    const result = await provisioner.provision(ownerUrl);
    if (result.created) {
      // Only a database this tenant's provisioning created may be dropped when a move is undone.
      await (
        await this.ownerSource()
      ).query(
        `UPDATE tenant_databases SET seed = coalesce(seed, '{}'::jsonb) || '{"created": true}'::jsonb
          WHERE tenant = $1 AND seed IS NOT NULL`,
        [tenantId],
      );
    }
    await this.withTenantOwner(ownerUrl, async (owner) => {
      const [tenant] = (await this.control.query(
        'SELECT name, slug FROM tenants WHERE id = $1::uuid',
        [tenantId],
      )) as { name: string; slug: string }[];
      await owner.transaction(async (manager) => {
        const others = (await manager.query('SELECT id::text AS id FROM tenants WHERE id <> $1', [
          tenantId,
        ])) as unknown[];
        if (others.length > 0) {
          throw new Error(
            `the database ${result.database} holds another tenant's data: refusing to use it for tenant ${place.slug}`,
          );
        }
        await manager.query(
          `INSERT INTO tenants (id, name, slug, status) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
          [tenantId, tenant?.name ?? place.slug, place.slug, status],
        );
      });
    });
    return result;
  }

  /**
   * Step 3 (in the tenant's open transaction): whether the tenant was seeded already, by a try
   * that crashed before `activate`.
   */
  async seeded(tenantId: string): Promise<boolean> {
    // Locked (an advisory lock: the runtime role may not lock registry rows): a cleanup and a
    // request finishing the same provisioning seed one after the other, and the second finds the
    // first's seed.
    await this.transactions.manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `seed:${tenantId}`,
    ]);
    const [row] = (await this.transactions.manager.query(
      'SELECT status FROM tenants WHERE id = $1::uuid',
      [tenantId],
    )) as { status: string }[];
    return row !== undefined && row.status !== 'provisioning';
  }

  /** Step 3 (in the tenant's open transaction, with the seed): the seed is written. */
  async markSeeded(tenantId: string, status: string): Promise<void> {
    await this.transactions.manager.query(
      `SELECT boards_transition_tenant($1::uuid, ARRAY['provisioning'], $2, 'provisioning', NULL)`,
      [tenantId, status],
    );
  }

  /** Step 4: the registry row takes `status`; the record is `ready`. False when not provisioning. */
  async activate(tenantId: string, status: string): Promise<boolean> {
    const owner = await this.ownerSource();
    return owner.transaction(async (manager) => {
      const moved = (await manager.query(
        `UPDATE tenants SET status = $2, updated_at = now() WHERE id = $1 AND status = 'provisioning' RETURNING id`,
        [tenantId, status],
      )) as [unknown[], number];
      await markReady(manager, tenantId);
      return moved[1] > 0;
    });
  }

  /**
   * A tenant made before its database existed (the default tenant, or one registered before the
   * layout changed): creates its database if needed and records it `ready`.
   */
  async ensureReady(tenantId: string, status: string): Promise<void> {
    const records = await this.records({ tenant: tenantId });
    if (records[0]?.state === 'ready') return;
    const place = await this.locator.place(tenantId);
    const owner = await this.ownerSource();
    await owner.query(
      `INSERT INTO tenant_databases (tenant, slug, state) VALUES ($1, $2, 'provisioning')
       ON CONFLICT (tenant) DO NOTHING`,
      [tenantId, place.slug],
    );
    await this.createDatabase(tenantId, status);
    await owner.transaction(async (manager) => {
      await markReady(manager, tenantId);
      // Logged in tenant_changes: every replica looks the tenant's place up again.
      await manager.query('UPDATE tenants SET updated_at = now() WHERE id = $1', [tenantId]);
    });
  }

  /**
   * The default tenant of a single-tenant install with a database per tenant: its registry row and
   * its record in one transaction (so no replica ever sees it without the record and routes it to
   * the control database), then its database. An existing default tenant without a record (from
   * before the switch) stays in the control database. Returns whether this call created it.
   */
  async ensureDefaultTenant(name: string, slug: string): Promise<{ id: string; created: boolean }> {
    const owner = await this.ownerSource();
    const created = await owner.transaction(async (manager) => {
      const inserted = (await manager.query(
        `INSERT INTO tenants (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING RETURNING id::text AS id`,
        [name, slug],
      )) as { id: string }[];
      if (inserted.length === 0) return undefined;
      await manager.query(
        `INSERT INTO tenant_databases (tenant, slug, state) VALUES ($1, $2, 'provisioning')`,
        [inserted[0].id, slug],
      );
      return inserted[0].id;
    });
    const [tenant] = (await owner.query(
      'SELECT t.id::text AS id, t.status, d.state FROM tenants t LEFT JOIN tenant_databases d ON d.tenant = t.id WHERE t.slug = $1',
      [slug],
    )) as { id: string; status: string; state: string | null }[];
    if (tenant.state !== null && tenant.state !== 'ready') {
      await this.ensureReady(tenant.id, tenant.status);
    }
    return { id: tenant.id, created: created !== undefined };
  }

  /** Notes why a step failed, for `boards tenant cleanup` and the platform admin. */
  async recordFailure(tenantId: string, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    try {
      const owner = await this.ownerSource();
      await owner.query(
        'UPDATE tenant_databases SET last_error = $2, updated_at = now() WHERE tenant = $1',
        [tenantId, message.slice(0, 1000)],
      );
    } catch (recordError) {
      this.logger.error(
        `could not record the failure of tenant ${tenantId}'s database: ${(recordError as Error).message}`,
      );
    }
  }

  /**
   * After the registry row is gone: drops the tenant's database and its record. A failure is
   * recorded (the record stays, its tenant gone) and reported in the result, never thrown: the
   * tenant is deleted either way, and `boards tenant cleanup` finishes the drop.
   */
  async dropDatabase(tenantId: string): Promise<{ dropped: boolean; error?: string }> {
    const [record] = await this.records({ tenant: tenantId });
    if (!record) return { dropped: false };
    // A tenant moved back to the shared database keeps its record, `dropping`, until this drop.
    if (record.registered && record.state !== 'dropping') {
      return { dropped: false, error: 'the tenant is still in the registry; delete it first' };
    }
    try {
      const owner = await this.ownerSource();
      await owner.query(
        `UPDATE tenant_databases SET state = 'dropping', attempts = attempts + 1, updated_at = now() WHERE tenant = $1`,
        [tenantId],
      );
      await this.router?.forget(tenantId);
      const url = this.locator.ownerUrl(record.tenantPlace);
      // Never a database that holds anything but this tenant: a {slug} name reused meanwhile, a
      // location mistyped onto another tenant's database or the control database.
      const contents = await this.provisioner.contents(url, tenantId);
      if (contents === 'other') {
        throw new Error(
          `the database at ${redactedUrl(url)} holds other data than this tenant's: not dropped`,
        );
      }
      const dropped = contents === 'absent' ? false : await this.provisioner.drop(url);
      await owner.query('DELETE FROM tenant_databases WHERE tenant = $1', [tenantId]);
      return { dropped };
    } catch (err) {
      await this.recordFailure(tenantId, err);
      return { dropped: false, error: (err as Error).message };
    }
  }

  /** Records (all, or one tenant's, or those needing cleanup) with whether their tenant exists. */
  async records(
    filter: { tenant?: string; unfinished?: boolean } = {},
  ): Promise<TenantDatabaseRecord[]> {
    const rows = (await this.control.query(
      `SELECT d.tenant::text AS tenant, d.slug, d.location, d.state, d.seed, d.attempts, d.last_error,
              d.updated_at, t.id IS NOT NULL AS registered
         FROM tenant_databases d LEFT JOIN tenants t ON t.id = d.tenant
        WHERE ($1::uuid IS NULL OR d.tenant = $1::uuid)
          AND (NOT $2 OR d.state <> 'ready' OR t.id IS NULL OR coalesce(d.seed ? 'move', false))
        ORDER BY d.updated_at, d.tenant`,
      [filter.tenant ?? null, filter.unfinished ?? false],
    )) as RecordRow[];
    return rows.map((row) => ({
      tenant: row.tenant,
      slug: row.slug,
      location: row.location,
      state: row.state,
      seed: row.seed,
      attempts: row.attempts,
      lastError: row.last_error,
      updatedAt: row.updated_at,
      registered: row.registered,
      tenantPlace: { id: row.tenant, slug: row.slug, location: row.location, own: true },
    }));
  }

  /** Checks a tenant database: reachable, migrated, the runtime role a plain one. */
  check(place: TenantDatabasePlace): Promise<TenantDatabaseCheck> {
    return this.provisioner.check(this.locator.ownerUrl(place));
  }

  /**
   * Records another server for the tenant's database (`postgres://host:port/database`, no
   * credentials), after checking that the database there is reachable, migrated and holds this
   * tenant; the tenant's data source then reopens there. Refused otherwise, nothing changed.
   */
  async recordLocation(tenantId: string, location: string | null): Promise<TenantDatabaseCheck> {
    if (location !== null) checkedLocation(location);
    const place = { ...(await this.locator.place(tenantId)), location };
    await this.assertFreeFor(tenantId, this.locator.ownerUrl(place));
    const check = await this.check(place);
    if (check.problems.length > 0) {
      throw new Error(
        `the database at ${redactedUrl(location ?? '')} is not fit: ${check.problems.join('; ')}`,
      );
    }
    await this.withTenantOwner(this.locator.ownerUrl(place), async (owner) => {
      const rows = (await owner.query('SELECT id::text AS id FROM tenants')) as { id: string }[];
      if (rows.length !== 1 || rows[0].id !== tenantId) {
        throw new Error(
          `the database at ${redactedUrl(location ?? '')} does not hold this tenant (alone)`,
        );
      }
    });
    const owner = await this.ownerSource();
    await owner.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO tenant_databases (tenant, slug, location, state) VALUES ($1, $2, $3, 'ready')
         ON CONFLICT (tenant) DO UPDATE SET location = EXCLUDED.location, updated_at = now()`,
        [tenantId, place.slug, location],
      );
      // Logged in tenant_changes: every replica looks the tenant's place up again.
      await manager.query('UPDATE tenants SET updated_at = now() WHERE id = $1', [tenantId]);
    });
    await this.router?.forget(tenantId);
    return check;
  }

  async onApplicationShutdown(): Promise<void> {
    const owner = this.owner;
    this.owner = undefined;
    if (owner) await (await owner.catch(() => undefined))?.destroy().catch(() => undefined);
  }

  private async bumpAttempts(tenantId: string, place: TenantDatabasePlace): Promise<void> {
    const owner = await this.ownerSource();
    await owner.query(
      `UPDATE tenant_databases SET attempts = attempts + 1, updated_at = now() WHERE tenant = $1`,
      [place.id || tenantId],
    );
  }

  /**
   * `boards tenant move`, first step: the tenant becomes `moving` (read-only) and, for a move to a
   * database of its own, gets its record (`provisioning`, at `location` or the template's place);
   * the record's seed says what to undo if the move stops half-way. Returns its former status.
   */
  async beginMove(
    tenantId: string,
    direction: 'to-database' | 'to-shared',
    location: string | null,
  ): Promise<string> {
    if (location !== null) {
      checkedLocation(location);
      const current = await this.locator.place(tenantId);
      await this.assertFreeFor(tenantId, this.locator.ownerUrl({ ...current, location }));
    }
    const owner = await this.ownerSource();
    return owner.transaction(async (manager) => {
      const [tenant] = (await manager.query(
        'SELECT slug, status FROM tenants WHERE id = $1 FOR UPDATE',
        [tenantId],
      )) as { slug: string; status: string }[];
      if (!tenant) throw new Error('no such tenant');
      if (tenant.status === 'provisioning' || tenant.status === 'moving') {
        throw new Error(
          `the tenant is ${tenant.status}; finish that first (boards tenant cleanup)`,
        );
      }
      const [record] = (await manager.query(
        'SELECT state FROM tenant_databases WHERE tenant = $1 FOR UPDATE',
        [tenantId],
      )) as { state: string }[];
      const seed = JSON.stringify({ move: direction, previous: tenant.status });
      if (direction === 'to-database') {
        if (record) throw new Error('the tenant already has a database of its own');
        await manager.query(
          `INSERT INTO tenant_databases (tenant, slug, location, state, seed)
           VALUES ($1, $2, $3, 'provisioning', $4::jsonb)`,
          [tenantId, tenant.slug, location, seed],
        );
      } else {
        if (record?.state !== 'ready') throw new Error('the tenant has no database of its own');
        await manager.query(
          'UPDATE tenant_databases SET seed = $2::jsonb, updated_at = now() WHERE tenant = $1',
          [tenantId, seed],
        );
      }
      await manager.query(
        `UPDATE tenants SET status = 'moving', updated_at = now() WHERE id = $1`,
        [tenantId],
      );
      return tenant.status;
    });
  }

  /**
   * The last step of a move, in one transaction of the control database bound to the tenant:
   * `work` (delete the copied-from rows, or write the copied-to ones, there), then the record
   * (`ready`, or `dropping` for a tenant back in the shared database) and the former status.
   */
  async finishMove(
    tenantId: string,
    direction: 'to-database' | 'to-shared',
    previous: string,
    work: (control: EntityManager) => Promise<void>,
  ): Promise<void> {
    const owner = await this.ownerSource();
    await owner.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
      // The move must still be this one (a cleanup may have undone it meanwhile).
      const [current] = (await manager.query(
        `SELECT t.status, d.seed->>'move' AS move FROM tenants t
           JOIN tenant_databases d ON d.tenant = t.id WHERE t.id = $1 FOR UPDATE OF t, d`,
        [tenantId],
      )) as { status: string; move: string | null }[];
      if (current?.status !== 'moving' || current.move !== direction) {
        throw new Error('the move was undone meanwhile (boards tenant cleanup?); nothing switched');
      }
      await work(manager);
      await manager.query(
        `UPDATE tenant_databases SET state = $2, seed = NULL, last_error = NULL, updated_at = now()
          WHERE tenant = $1`,
        [tenantId, direction === 'to-database' ? 'ready' : 'dropping'],
      );
      await manager.query(`UPDATE tenants SET status = $2, updated_at = now() WHERE id = $1`, [
        tenantId,
        previous,
      ]);
    });
    await this.router?.forget(tenantId);
  }

  /**
   * Undoes a move that stopped before its last step: the tenant gets its former status back and
   * stays where it was (a database made for it is dropped). False when no move was under way.
   */
  async abandonMove(tenantId: string): Promise<boolean> {
    const owner = await this.ownerSource();
    // Under the record's and the tenant's locks, so that it cannot cross a move's last step.
    const undone = await owner.transaction(async (manager) => {
      const [current] = (await manager.query(
        `SELECT d.seed, d.slug, d.location, t.status FROM tenant_databases d
           JOIN tenants t ON t.id = d.tenant WHERE d.tenant = $1 FOR UPDATE OF t, d`,
        [tenantId],
      )) as {
        seed: { move?: string; previous?: string; created?: boolean } | null;
        slug: string;
        location: string | null;
        status: string;
      }[];
      const seed = current?.seed;
      if (!current || !seed?.move || !seed.previous) return undefined;
      if (seed.move === 'to-database') {
        await manager.query('DELETE FROM tenant_databases WHERE tenant = $1', [tenantId]);
      } else {
        await manager.query(
          'UPDATE tenant_databases SET seed = NULL, updated_at = now() WHERE tenant = $1',
          [tenantId],
        );
      }
      await manager.query(
        `UPDATE tenants SET status = $2, updated_at = now() WHERE id = $1 AND status = 'moving'`,
        [tenantId, seed.previous],
      );
      return { ...current, seed };
    });
    if (!undone) return false;
    await this.router?.forget(tenantId);
    // A database this move created, and holding nothing but this tenant, goes; anything else stays.
    if (undone.seed.move === 'to-database' && undone.seed.created === true) {
      const url = this.locator.ownerUrl({
        id: tenantId,
        slug: undone.slug,
        location: undone.location,
      });
      if ((await this.provisioner.contents(url, tenantId)) !== 'other') {
        await this.provisioner.drop(url);
      }
    }
    return true;
  }

  /**
   * Refuses to put a tenant in a database that is the control database, that another tenant's
   * record names, or that holds anything but this tenant (a location typed wrong, a {slug}
   * reused while an old database is still there).
   */
  private async assertFreeFor(tenantId: string, ownerUrl: string): Promise<void> {
    const control = this.config.database.ownerUrl ?? this.config.database.url;
    if (control && sameDatabase(ownerUrl, control)) {
      throw new Error("that is the control database, not a database of the tenant's own");
    }
    for (const record of await this.records()) {
      if (
        record.tenant !== tenantId &&
        sameDatabase(ownerUrl, this.locator.ownerUrl(record.tenantPlace))
      ) {
        throw new Error(`that database belongs to tenant ${record.slug}`);
      }
    }
    if ((await this.provisioner.contents(ownerUrl, tenantId)) === 'other') {
      throw new Error(
        `the database at ${redactedUrl(ownerUrl)} holds other data than this tenant's`,
      );
    }
  }

  /** A data source on the tenant's own database as the owner role (a move reads or writes it). */
  async openTenantOwner(tenantId: string): Promise<DataSource> {
    const [record] = await this.records({ tenant: tenantId });
    if (!record) throw new Error('the tenant has no database of its own');
    const owner = new DataSource(
      this.target.options('owner', { url: this.locator.ownerUrl(record.tenantPlace), poolSize: 1 }),
    );
    return owner.initialize();
  }

  /** The control database's owner connection, opened on first use. */
  private ownerSource(): Promise<DataSource> {
    this.owner ??= this.target.connect('owner').catch((err: unknown) => {
      this.owner = undefined;
      throw err;
    });
    return this.owner;
  }

  private withTenantOwner<T>(url: string, work: (owner: DataSource) => Promise<T>) {
    return withDataSourceAt(
      url,
      {
        applicationName: 'boards-provisioner',
        connectTimeoutMs: this.config.database.connectTimeoutMs,
      },
      work,
    );
  }
}

/** The record says the tenant's database is ready: nothing left to seed, no failure pending. */
async function markReady(manager: EntityManager, tenantId: string): Promise<void> {
  await manager.query(
    `UPDATE tenant_databases SET state = 'ready', seed = NULL, last_error = NULL, updated_at = now()
      WHERE tenant = $1`,
    [tenantId],
  );
}
