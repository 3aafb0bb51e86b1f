import { readFileSync, writeFileSync } from 'node:fs';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { INestApplicationContext } from '@nestjs/common';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatOption, printRows, progress, type OutputFormat } from 'src/common/cli-output';
import type { BoardsConfig } from 'src/core/config/boards-config';
import {
  MEMBERSHIP_SOURCES,
  TENANT_STATUSES,
  type MembershipSource,
  type TenantStatus,
} from 'src/core/context/records';
import { withDataSourceAt } from 'src/core/database/data-sources';
import { withOwnerDataSource } from 'src/core/database/owner-session';
import {
  ownDatabasePlaces,
  TenantDatabaseLocator,
} from 'src/core/database/tenant-database-locator';
import { CreateTenantDto } from '../dto/create-tenant.dto';
import { toTenantResponse, type TenantResponse } from '../dto/tenant.response';
import { TenantAdminService, TENANT_TRANSITIONS, type TenantAction } from '../tenant-admin.service';
import { TenantErrors } from '../tenants.errors';
import { TenantsRepository } from '../tenants.repository';
import { auditTenants, type AuditFinding, type TenantAuditReport } from './tenant-audit';
import { listMemberships } from './tenant-memberships';
import { moveTenant } from './tenant-move';
import {
  exportTenant,
  importTenant,
  SNAPSHOT_TABLES,
  validateSnapshot,
  type TenantSnapshot,
} from './tenant-snapshot';

function tenantRow(tenant: TenantResponse): Record<string, unknown> {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    status: tenant.status,
    created_at: tenant.created_at,
  };
}

/**
 * Opens the whole application without an HTTP server (the bootstrap, src/cli.ts, provides it: a
 * feature does not assemble the application).
 */
export type AppContextFactory = (config: BoardsConfig) => Promise<INestApplicationContext>;

/**
 * Runs `work` with the application's services on the runtime connection (the same rules and
 * audit events as the API), without an HTTP server.
 */
async function withServices<T>(
  openApp: AppContextFactory,
  config: BoardsConfig,
  work: (admin: TenantAdminService, tenants: TenantsRepository) => Promise<T>,
): Promise<T> {
  const app = await openApp(config);
  try {
    return await work(app.get(TenantAdminService), app.get(TenantsRepository));
  } finally {
    await app.close();
  }
}

/** The API's validation rules for a CLI input: a clear message instead of a database error. */
async function validated<T extends object>(
  type: new () => T,
  input: Record<string, unknown>,
): Promise<T> {
  const defined = Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  );
  const dto = plainToInstance(type, defined);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const messages = errors.flatMap((error) => Object.values(error.constraints ?? {}));
    throw new Error(`invalid input: ${messages.join('; ')}`);
  }
  return dto;
}

async function idOf(tenants: TenantsRepository, slugOrId: string): Promise<string> {
  const tenant = /^[0-9a-f-]{36}$/i.test(slugOrId)
    ? await tenants.findById(slugOrId)
    : await tenants.findBySlug(slugOrId);
  if (!tenant) throw TenantErrors.notFound();
  return tenant.id;
}

/** How long a move may run before `boards tenant cleanup` takes it for one that stopped. */
const MOVE_LEASE_MS = 10 * 60_000;

/**
 * `tenant export` in either layout: the registry row and domains from the control database, the
 * rows from the tenant's own database when it has one (a database per tenant), else from there too.
 */
async function exportAnywhere(
  openApp: AppContextFactory,
  config: BoardsConfig,
  slug: string,
): Promise<TenantSnapshot> {
  if (config.tenancy.isolation !== 'database') {
    return withOwnerDataSource(config, (owner) => exportTenant(owner, slug, progress));
  }
  return withServices(openApp, config, async (admin, tenants) => {
    const tenant = await tenants.findBySlug(slug);
    if (!tenant) throw new Error(`no tenant with slug "${slug}"`);
    const [record] = await admin.tenantDatabases.records({ tenant: tenant.id });
    return withOwnerDataSource(config, async (control) => {
      if (!record) return exportTenant(control, slug, progress);
      const data = await admin.tenantDatabases.openTenantOwner(tenant.id);
      try {
        return await exportTenant(control, slug, progress, data);
      } finally {
        await data.destroy();
      }
    });
  });
}

/**
 * `tenant audit` with a database per tenant: the control database's own checks, then each tenant
 * database (its owner connection, from the owner template or the tenant's recorded location), one
 * after the other; the findings name their tenant.
 */
async function auditTenantDatabases(
  config: BoardsConfig,
  tenantSlug: string | undefined,
): Promise<TenantAuditReport> {
  return withOwnerDataSource(config, async (control) => {
    const runtimeRole = config.database.runtimeRole;
    const locator = new TenantDatabaseLocator(config.tenancy, control);
    const places = await ownDatabasePlaces(control, tenantSlug);
    // The control database first: the registry, and the tenants without a database of their own.
    progress('the control database');
    const shared = await auditTenants(control, { runtimeRole, tenantSlug }, () => undefined);
    const findings: AuditFinding[] = [...shared.findings];
    const checks = new Set<string>(shared.checks);
    for (const [index, place] of places.entries()) {
      progress(`[${index + 1}/${places.length}] tenant database of ${place.slug}`);
      try {
        const report = await withDataSourceAt(
          locator.ownerUrl(place),
          { applicationName: 'boards-audit', connectTimeoutMs: config.database.connectTimeoutMs },
          (owner) => auditTenants(owner, { runtimeRole, tenantSlug: place.slug }, () => undefined),
        );
        report.checks.forEach((check) => checks.add(check));
        findings.push(...report.findings.map((finding) => ({ tenant: place.slug, ...finding })));
      } catch (err) {
        findings.push({
          check: 'tenant database reachable',
          tenant: place.slug,
          detail: (err as Error).message,
        });
      }
    }
    return {
      ok: findings.length === 0,
      tenants_checked: shared.tenants_checked,
      checks: [...checks],
      findings,
    };
  });
}

/** `boards tenant create|list|approve|reject|suspend|activate|audit|export|import`. */
export function registerTenantCommands(
  program: Command,
  loadConfig: () => BoardsConfig,
  openApp: AppContextFactory,
): void {
  const tenant = program.command('tenant').description('manage tenants (organizations)');

  tenant
    .command('create')
    .description('create a tenant')
    .requiredOption('--name <name>', 'display name')
    .option('--slug <slug>', 'URL-safe identifier (generated from the name when omitted)')
    .option('--sample-data', 'add a few sample boards and generations', false)
    .addOption(formatOption())
    .action(
      async (options: {
        name: string;
        slug?: string;
        sampleData: boolean;
        outputFormat: OutputFormat;
      }) => {
        const dto = await validated(CreateTenantDto, {
          name: options.name,
          slug: options.slug,
          include_sample_data: options.sampleData,
        });
        const created = await withServices(openApp, loadConfig(), (admin) => admin.create(dto));
        printRows([tenantRow(created)], options.outputFormat, created);
      },
    );

  tenant
    .command('list')
    .description('list tenants')
    .addOption(
      new Option('--status <status>', 'only tenants in this status').choices(TENANT_STATUSES),
    )
    .addOption(formatOption())
    .action(async (options: { status?: TenantStatus; outputFormat: OutputFormat }) => {
      const all = await withServices(openApp, loadConfig(), async (_admin, tenants) => {
        const items: TenantResponse[] = [];
        for (let offset = 0; ; offset += 100) {
          const page = await tenants.list({ status: options.status, limit: 100, offset });
          items.push(...page.items.map(toTenantResponse));
          if (offset + 100 >= page.total) return items;
        }
      });
      printRows(all.map(tenantRow), options.outputFormat, all);
    });

  for (const action of Object.keys(TENANT_TRANSITIONS) as TenantAction[]) {
    tenant
      .command(`${action} <tenant>`)
      .description(`${action} a tenant (by slug or id)`)
      .addOption(formatOption())
      .action(async (slugOrId: string, options: { outputFormat: OutputFormat }) => {
        const result = await withServices(openApp, loadConfig(), async (admin, tenants) =>
          admin.act(await idOf(tenants, slugOrId), action, {
            actor: `cli:boards tenant ${action}`,
            requestId: null,
          }),
        );
        printRows([tenantRow(result)], options.outputFormat, result);
      });
  }

  tenant
    .command('cleanup')
    .description(
      'database per tenant: finish provisioning left half-way and drop the databases of deleted tenants; exit 1 if any failed',
    )
    .addOption(formatOption())
    .action(async (options: { outputFormat: OutputFormat }) => {
      const rows = await withServices(openApp, loadConfig(), async (admin) => {
        const databases = admin.tenantDatabases;
        if (!databases.enabled) {
          progress('nothing to clean up: BOARDS_TENANT_ISOLATION is not "database"');
          return [];
        }
        // A move younger than MOVE_LEASE_MS may still be running: it is left alone.
        const records = (await databases.records({ unfinished: true })).filter(
          (record) =>
            !(record.seed as { move?: string } | null)?.move ||
            Date.now() - record.updatedAt.getTime() > MOVE_LEASE_MS,
        );
        progress(`${records.length} tenant database(s) to finish`);
        const done: Record<string, unknown>[] = [];
        for (const [index, record] of records.entries()) {
          let action: string;
          let error: string | undefined;
          const moving = (record.seed as { move?: string } | null)?.move !== undefined;
          if (!record.registered || (record.state === 'dropping' && !moving)) {
            action = 'drop';
            error = (await databases.dropDatabase(record.tenant)).error;
          } else {
            action = moving ? 'undo move' : 'provision';
            try {
              await admin.resumeProvisioning(record.tenant);
            } catch (err) {
              error = (err as Error).message;
            }
          }
          progress(
            `[${index + 1}/${records.length}] ${record.slug}: ${action} ${error ? `FAILED: ${error}` : 'done'}`,
          );
          done.push({
            tenant: record.slug,
            id: record.tenant,
            action,
            outcome: error ? 'failed' : 'done',
            error: error ?? '',
          });
        }
        return done;
      });
      printRows(rows, options.outputFormat, rows);
      if (rows.some((row) => row.outcome === 'failed')) process.exitCode = 1;
    });

  tenant
    .command('move <tenant>')
    .description(
      'database per tenant: move a tenant from the shared database to one of its own, or back; read-only meanwhile, verified by counts and checksums',
    )
    .option(
      '--to-database [url]',
      'to a database of its own: postgres://host:port/database (no credentials), or the template when no URL is given',
    )
    .option('--to-shared', 'back into the shared (control) database', false)
    .option(
      '--settle-ms <ms>',
      'how long replicas get to see the tenant read-only before the copy',
      (value) => {
        const ms = Number(value);
        if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
          throw new InvalidArgumentError('a whole number of milliseconds from 0 to 60000');
        }
        return ms;
      },
      2_000,
    )
    .addOption(formatOption())
    .action(
      async (
        slugOrId: string,
        options: {
          toDatabase?: string | true;
          toShared: boolean;
          settleMs: number;
          outputFormat: OutputFormat;
        },
      ) => {
        if ((options.toDatabase !== undefined) === options.toShared) {
          throw new Error('give either --to-database [url] or --to-shared');
        }
        const config = loadConfig();
        const result = await withServices(openApp, config, async (admin, tenants) => {
          const databases = admin.tenantDatabases;
          if (!databases.enabled) throw new Error('BOARDS_TENANT_ISOLATION is not "database"');
          const id = await idOf(tenants, slugOrId);
          const tenant = await tenants.findById(id);
          if (!tenant) throw TenantErrors.notFound();
          return withOwnerDataSource(config, (control) =>
            moveTenant(
              control,
              databases,
              { id, slug: tenant.slug },
              {
                direction: options.toShared ? 'to-shared' : 'to-database',
                location: typeof options.toDatabase === 'string' ? options.toDatabase : null,
                settleMs: options.settleMs,
              },
              progress,
            ),
          );
        });
        const rows = SNAPSHOT_TABLES.map((table) => ({
          table,
          rows: result.counts[table],
          checksum: result.checksums[table].slice(0, 16),
        }));
        printRows(rows, options.outputFormat, result);
        progress(
          `moved tenant ${result.tenant} ${result.direction === 'to-shared' ? 'into the shared database' : 'to its own database'}; counts and checksums verified`,
        );
      },
    );

  tenant
    .command('database <tenant>')
    .description(
      "database per tenant: show where a tenant's database is, or record another server for it (checked first)",
    )
    .option(
      '--location <url>',
      'postgres://host:port/database of a database that holds this tenant (no user or password: the templates give them)',
    )
    .option('--template', 'go back to the URL template', false)
    .addOption(formatOption())
    .action(
      async (
        slugOrId: string,
        options: { location?: string; template: boolean; outputFormat: OutputFormat },
      ) => {
        const row = await withServices(openApp, loadConfig(), async (admin, tenants) => {
          const databases = admin.tenantDatabases;
          if (!databases.enabled) throw new Error('BOARDS_TENANT_ISOLATION is not "database"');
          const id = await idOf(tenants, slugOrId);
          if (options.location !== undefined || options.template) {
            await databases.recordLocation(
              id,
              options.template ? null : (options.location ?? null),
            );
          }
          const place = await databases.locator.place(id);
          const check = await databases.check(place);
          return {
            tenant: place.slug,
            location: place.location ?? '(template)',
            database: check.database,
            reachable: check.reachable,
            pending_migrations: check.pending.length,
            problems: check.problems.join('; '),
          };
        });
        printRows([row], options.outputFormat, row);
        if (row.problems) process.exitCode = 1;
      },
    );

  tenant
    .command('audit')
    .description(
      'check cross-tenant references, row-level security and the runtime role (owner role); exit 1 on a violation',
    )
    .option('--tenant-slug <slug>', 'check one tenant only')
    .addOption(formatOption())
    .action(async (options: { tenantSlug?: string; outputFormat: OutputFormat }) => {
      const config = loadConfig();
      const report =
        config.tenancy.isolation === 'database'
          ? await auditTenantDatabases(config, options.tenantSlug)
          : await withOwnerDataSource(config, (owner) =>
              auditTenants(
                owner,
                { runtimeRole: config.database.runtimeRole, tenantSlug: options.tenantSlug },
                progress,
              ),
            );
      const rows = report.findings.map((finding) => ({
        check: finding.check,
        tenant: finding.tenant ?? '',
        table: finding.table ?? '',
        detail: finding.detail,
      }));
      printRows(rows, options.outputFormat, report);
      progress(
        report.ok
          ? `no violations in ${report.tenants_checked} tenant(s)`
          : `${report.findings.length} violation(s) found`,
      );
      if (!report.ok) process.exitCode = 1;
    });

  tenant
    .command('memberships')
    .description(
      'list memberships by source (owner role); e.g. --source email_domain lists rows the retired e-mail first-label rule may have created, for review',
    )
    .addOption(
      new Option('--source <source>', 'membership source to list')
        .choices(MEMBERSHIP_SOURCES)
        .default('email_domain'),
    )
    .option('--tenant-slug <slug>', 'one tenant only')
    .option(
      '--confirm',
      'turn the listed email_domain rows into legacy memberships (they keep their access)',
      false,
    )
    .addOption(formatOption())
    .action(
      async (options: {
        source: MembershipSource;
        tenantSlug?: string;
        confirm: boolean;
        outputFormat: OutputFormat;
      }) => {
        const rows = await withOwnerDataSource(loadConfig(), (owner) =>
          listMemberships(
            owner,
            { source: options.source, tenantSlug: options.tenantSlug, confirm: options.confirm },
            progress,
          ),
        );
        printRows(
          rows.map((row) => ({ ...row })),
          options.outputFormat,
          rows,
        );
      },
    );

  tenant
    .command('export')
    .description(
      'write a consistent snapshot of everything a tenant owns (JSON) to stdout or a file',
    )
    .requiredOption('--slug <slug>', 'the tenant to export')
    .option('--output <file>', 'file to write (stdout when omitted)')
    .action(async (options: { slug: string; output?: string }) => {
      const snapshot = await exportAnywhere(openApp, loadConfig(), options.slug);
      const text = `${JSON.stringify(snapshot)}\n`;
      if (options.output) writeFileSync(options.output, text);
      else process.stdout.write(text);
      const total = Object.values(snapshot.counts).reduce((sum, n) => sum + n, 0);
      progress(
        `exported ${total} rows of tenant ${snapshot.tenant.slug}${options.output ? ` to ${options.output}` : ''}`,
      );
    });

  tenant
    .command('import')
    .description(
      'restore a snapshot (into an empty database, or under a new slug); counts and checksums are verified',
    )
    .option('--file <file>', 'snapshot to read (stdin when omitted)')
    .option('--slug <slug>', 'restore under this new slug (a new tenant id)')
    .option('--name <name>', 'display name for the restored tenant')
    .addOption(formatOption())
    .action(
      async (options: {
        file?: string;
        slug?: string;
        name?: string;
        outputFormat: OutputFormat;
      }) => {
        const text = readFileSync(options.file ?? 0, 'utf8');
        let document: unknown;
        try {
          document = JSON.parse(text);
        } catch {
          throw new Error('the snapshot is not valid JSON');
        }
        const snapshot = validateSnapshot(document);
        const config = loadConfig();
        const result = await withOwnerDataSource(config, (owner) =>
          importTenant(owner, snapshot, { newSlug: options.slug, newName: options.name }, progress),
        );
        // With a database per tenant, the restored tenant then moves to a database of its own,
        // like every new tenant (verified again by counts and checksums).
        if (config.tenancy.isolation === 'database') {
          progress(`moving tenant ${result.slug} to a database of its own`);
          await withServices(openApp, config, (admin) =>
            withOwnerDataSource(config, (control) =>
              moveTenant(
                control,
                admin.tenantDatabases,
                { id: result.tenantId, slug: result.slug },
                { direction: 'to-database', location: null, settleMs: 0 },
                progress,
              ),
            ),
          );
        }
        printRows(
          Object.keys(result.counts).map((table) => ({
            table,
            rows: result.counts[table as keyof typeof result.counts],
            checksum: result.checksums[table as keyof typeof result.checksums].slice(0, 16),
          })),
          options.outputFormat,
          {
            tenant_id: result.tenantId,
            slug: result.slug,
            counts: result.counts,
            checksums: result.checksums,
          },
        );
        progress(
          `imported tenant ${result.slug} (${result.tenantId}); counts and checksums match the snapshot`,
        );
      },
    );
}
