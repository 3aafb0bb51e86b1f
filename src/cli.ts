#!/usr/bin/env node
// First: loads Nest with its logger's date formatters deferred (about 5 MB of resident memory),
// then TypeORM and class-validator with the modules the service never calls deferred (unused
// database drivers, phone-number metadata: about 1.7 MB of source text kept in the heap).
import 'src/core/runtime/deferred-nest-formatters';
import 'src/core/runtime/deferred-libraries';
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MIGRATION_NAMES } from 'migrations/index';
import { AppModule } from 'src/app.module';
import { formatOption, printRows, progress, type OutputFormat } from 'src/common/cli-output';
import { loadConfig, type BoardsConfig } from 'src/core/config/boards-config';
import { registerConfigCommands } from 'src/core/config/config-commands';
import { BOARDS_CONFIG_KEY, validateBoardsEnv } from 'src/core/config/config.module';
import { ConfigError } from 'src/core/config/env-parsers';
import { LEAKPROOF_ILIKE_SQL, searchUsesIndexes } from 'src/core/database/search-index';
import { DatabaseTarget } from 'src/core/database/data-sources';
import { appliedMigrations } from 'src/core/database/database-probes';
import { IsolationInspector } from 'src/core/database/isolation-inspector';
import { MigrationRunner } from 'src/core/database/migration-runner';
import { withOwnerDataSource } from 'src/core/database/owner-session';
import {
  migrateTenantDatabases,
  type TenantMigrationReport,
} from 'src/core/database/tenant-migrations';
import { StartupFailure, databaseStep, startupFailure } from 'src/core/database/startup-failure';
import { registerTenantCommands } from 'src/modules/tenants/cli/tenant-commands';
import { createApp, serve } from 'src/main';
import { registerAuthCommands } from 'src/modules/auth/auth-token.command';
import { buildOpenApiDocument } from 'src/openapi';

/**
 * Loads the config or exits 78 (EX_CONFIG) with one line per bad setting, naming the variable,
 * before Nest starts: the same validate hook ConfigModule hands to @nestjs/config.
 */
function configOrExit(): BoardsConfig {
  try {
    // The one place the environment is handed to the config parser.
    // eslint-disable-next-line no-restricted-properties
    return validateBoardsEnv(process.env)[BOARDS_CONFIG_KEY];
  } catch (err) {
    if (err instanceof ConfigError) {
      const lines = err.problems.map((problem) => `boards: configuration error: ${problem}\n`);
      process.stderr.write(lines.join(''));
      process.exit(78);
    }
    throw err;
  }
}

/** Migration work as the owner role; a failure to connect or to migrate is one line with a hint. */
async function withOwner<T>(
  config: BoardsConfig,
  work: (runner: MigrationRunner) => Promise<T>,
): Promise<T> {
  try {
    return await withOwnerDataSource(config, (owner) =>
      databaseStep('migrate', 'owner', () =>
        work(new MigrationRunner(owner, config.database.runtimeRole)),
      ),
    );
  } catch (err) {
    throw startupFailure(err, config);
  }
}

const concurrencyOption = () =>
  new Option('--concurrency <n>', 'tenant databases migrated at once (database per tenant)')
    .argParser((value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 32) {
        throw new InvalidArgumentError('a whole number from 1 to 32');
      }
      return n;
    })
    .default(4);

/** Every tenant database, after the control database, with a progress line per tenant. */
async function tenantMigrations(
  config: BoardsConfig,
  mode: 'up' | 'status',
  concurrency: number,
): Promise<TenantMigrationReport[]> {
  progress(`${mode === 'up' ? 'migrating' : 'checking'} the tenant databases…`);
  return withOwnerDataSource(config, (control) =>
    migrateTenantDatabases(config, control, {
      mode,
      concurrency,
      onProgress: (report, done, total) =>
        progress(
          `[${done}/${total}] ${report.tenant} (${report.database}): ${
            report.outcome === 'failed'
              ? `FAILED: ${report.error}`
              : report.migrations.length === 0
                ? 'up to date'
                : `${report.outcome === 'ok' ? 'applied' : 'pending'} ${report.migrations.length}`
          }`,
        ),
    }),
  );
}

function tenantMigrationRow(report: TenantMigrationReport): Record<string, unknown> {
  return {
    tenant: report.tenant,
    database: report.database,
    outcome: report.outcome,
    migrations: report.migrations.length,
    error: report.error ?? '',
  };
}

/** One summary line; exit 1 when any tenant database failed or has migrations pending. */
function finishTenantMigrations(reports: readonly TenantMigrationReport[]): void {
  const failed = reports.filter((report) => report.outcome === 'failed').length;
  const pending = reports.filter((report) => report.outcome === 'pending').length;
  progress(
    `${reports.length} tenant database(s): ${reports.length - failed - pending} up to date, ${pending} pending, ${failed} failed` +
      (failed > 0 ? ' (run the command again to resume: done databases are skipped)' : ''),
  );
  if (failed > 0 || pending > 0) process.exitCode = 1;
}

export function buildProgram(): Command {
  // A usage error (unknown option, a value outside the choices) is one line and exit 1, without
  // the help text after it: `boards <command> --help` lists the options.
  const program = new Command('boards').description(
    'Boards API: serve, migrate and inspect the multi-tenant backend',
  );

  program
    .command('serve')
    .description('start the HTTP server (configuration from BOARDS_* variables)')
    .action(async () => {
      const config = configOrExit();
      await serve(config);
    });

  const migrate = program
    .command('migrate')
    .description('apply, revert or list database migrations (owner role)');
  migrate
    .command('up')
    .description(
      'apply every pending migration (and, with a database per tenant, in every tenant database)',
    )
    .addOption(concurrencyOption())
    .addOption(formatOption())
    .action(async (options: { concurrency: number; outputFormat: OutputFormat }) => {
      const config = configOrExit();
      progress(`applying migrations (${MIGRATION_NAMES.length} known)…`);
      const applied = await withOwner(config, (runner) => runner.up());
      progress(
        applied.length === 0
          ? 'nothing to apply: the schema is up to date'
          : `applied: ${applied.join(', ')}`,
      );
      if (config.tenancy.isolation === 'database') {
        const reports = await tenantMigrations(config, 'up', options.concurrency);
        printRows(reports.map(tenantMigrationRow), options.outputFormat, reports);
        finishTenantMigrations(reports);
      }
    });
  migrate
    .command('down')
    .description('revert the last applied migration')
    .action(async () => {
      const config = configOrExit();
      const reverted = await withOwner(config, (runner) => runner.down());
      progress(reverted ? `reverted: ${reverted}` : 'nothing to revert');
    });
  migrate
    .command('status')
    .description(
      'list migrations and whether each is applied (with a database per tenant, then each tenant database)',
    )
    .addOption(concurrencyOption())
    .addOption(formatOption())
    .action(async (options: { concurrency: number; outputFormat: OutputFormat }) => {
      const config = configOrExit();
      const status = await withOwner(config, (runner) => runner.status());
      printRows(
        status.map((s) => ({ migration: s.name, applied: s.applied ? 'yes' : 'no' })),
        options.outputFormat,
        status,
      );
      if (status.some((s) => !s.applied)) process.exitCode = 1;
      if (config.tenancy.isolation === 'database') {
        const reports = await tenantMigrations(config, 'status', options.concurrency);
        printRows(reports.map(tenantMigrationRow), options.outputFormat, reports);
        finishTenantMigrations(reports);
      }
    });

  program
    .command('db')
    .description('database checks')
    .command('check')
    .description(
      'connect as the runtime role and verify migrations and the isolation configuration',
    )
    .addOption(formatOption())
    .action(async (options: { outputFormat: OutputFormat }) => {
      const config = configOrExit();
      const target = await DatabaseTarget.open(config);
      try {
        const runtime = await target.connect('runtime');
        try {
          const report = await new IsolationInspector(runtime).inspect();
          const applied = await appliedMigrations(runtime);
          const pending = MIGRATION_NAMES.filter((name) => !applied.has(name));
          const indexedSearch = await searchUsesIndexes(runtime);
          const document = {
            database: config.usesEmbeddedDatabase ? 'embedded' : 'postgresql',
            runtime_role: report.runtimeRole,
            isolation_status: report.status,
            problems: report.problems,
            pending_migrations: pending,
            search_uses_indexes: indexedSearch,
          };
          printRows(
            [
              { check: 'connection', result: 'ok', detail: document.database },
              {
                check: 'migrations',
                result: pending.length ? 'pending' : 'ok',
                detail: pending.join(', '),
              },
              { check: 'isolation', result: report.status, detail: report.problems.join('; ') },
              {
                check: 'search index',
                result: indexedSearch ? 'ok' : 'warning',
                detail: indexedSearch
                  ? ''
                  : `search reads all of a tenant's boards; as a superuser, run in this database: ${LEAKPROOF_ILIKE_SQL}`,
              },
            ],
            options.outputFormat,
            document,
          );
          if (pending.length > 0 || report.status !== 'ok') process.exitCode = 1;
        } finally {
          await runtime.destroy();
        }
      } finally {
        await target.close();
      }
    });

  program
    .command('openapi')
    .description('write the OpenAPI document (as served at /api/openapi.json) to a file or stdout')
    .option('--output <file>', 'file to write; stdout when omitted')
    .action(async (options: { output?: string }) => {
      // A fixed, self-contained configuration: the document must not depend on the caller's environment.
      const config = loadConfig({
        BOARDS_EMBEDDED_DATA_DIR: 'memory://',
        BOARDS_LOG_LEVEL: 'silent',
      });
      progress('building the application on an in-memory database…');
      const app = await createApp(config);
      try {
        const text = `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
        if (options.output) {
          writeFileSync(options.output, text);
          progress(`wrote ${options.output}`);
        } else {
          process.stdout.write(text);
        }
      } finally {
        await app.close();
      }
    });

  registerConfigCommands(program);
  registerAuthCommands(program, configOrExit);
  registerTenantCommands(program, configOrExit, (config) =>
    NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: false,
      abortOnError: false,
    }),
  );
  return program;
}

/** Entry point of the `boards` command. */
export function main(argv: string[] = process.argv): void {
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`boards: ${message.split('\n')[0]}\n`);
      if (err instanceof StartupFailure && err.details) process.stderr.write(`${err.details}\n`);
      process.exit(1);
    });
}

if (require.main === module) main();
