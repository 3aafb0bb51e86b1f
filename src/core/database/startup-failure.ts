import type { BoardsConfig } from 'src/core/config/boards-config';
import { isDatabaseUnavailable } from './database-unavailable';
import { EmbeddedDatabaseLockedError } from './embedded-database';

export type DatabaseStep = 'connect' | 'migrate';
export type DatabasePurpose = 'runtime' | 'owner';

/** A database step of start-up (or of `boards migrate`) that failed, with what it was doing. */
export class DatabaseStepError extends Error {
  constructor(
    readonly step: DatabaseStep,
    readonly purpose: DatabasePurpose,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'DatabaseStepError';
  }
}

/**
 * What `boards serve` or `boards migrate` prints when it cannot start: one line, with the cause
 * and what to do; the full error follows only with BOARDS_DEBUG=true.
 */
export class StartupFailure extends Error {
  constructor(
    message: string,
    /** The full error (stack, driver fields), printed only when BOARDS_DEBUG=true. */
    readonly details: string | undefined,
  ) {
    super(message);
    this.name = 'StartupFailure';
  }
}

/** Runs `work` as one database step; its failure is a DatabaseStepError naming the step. */
export async function databaseStep<T>(
  step: DatabaseStep,
  purpose: DatabasePurpose,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof DatabaseStepError ? err : new DatabaseStepError(step, purpose, err);
  }
}

/** The one-line StartupFailure for an error of start-up. */
export function startupFailure(err: unknown, config: BoardsConfig): StartupFailure {
  const details = config.debug ? detailsOf(err) : undefined;
  const hint = config.debug ? '' : ' (BOARDS_DEBUG=true prints the details)';
  return new StartupFailure(`cannot start: ${describe(err, config)}${hint}`, details);
}

/** The error's stack, then each cause's stack and the driver's fields (code, detail, hint). */
function detailsOf(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (!(current instanceof Error)) {
      parts.push(String(current));
      break;
    }
    const fields = current as Error & { code?: unknown; detail?: unknown; hint?: unknown };
    const driver = (['code', 'detail', 'hint'] as const)
      .filter((key) => typeof fields[key] === 'string' && fields[key] !== '')
      .map((key) => `${key}: ${String(fields[key])}`);
    parts.push(
      `${depth > 0 ? 'caused by: ' : ''}${current.stack ?? current.message}${driver.length ? `\n  (${driver.join(', ')})` : ''}`,
    );
    current = current.cause;
  }
  return parts.join('\n');
}

function describe(err: unknown, config: BoardsConfig): string {
  if (err instanceof EmbeddedDatabaseLockedError) return err.message;
  if (!(err instanceof DatabaseStepError)) return firstLine(err);
  // Without BOARDS_DATABASE_OWNER_URL the owner connection uses BOARDS_DATABASE_URL.
  const variable =
    err.purpose === 'owner' && config.database.ownerUrl !== config.database.url
      ? 'BOARDS_DATABASE_OWNER_URL'
      : 'BOARDS_DATABASE_URL';
  const url = err.purpose === 'runtime' ? config.database.url : config.database.ownerUrl;
  if (url === undefined)
    return `the embedded database failed to ${err.step}: ${firstLine(err.cause)}`;
  const target = parse(url);
  const where = `${target.host}:${target.port}`;
  const code = (err.cause as { code?: unknown } | null)?.code;
  switch (code) {
    case '3D000':
      return `database "${target.database}" does not exist on ${where} (${variable}); create it, e.g. createdb -h ${target.host} -p ${target.port} -U postgres -O ${parse(config.database.ownerUrl ?? url).user} ${target.database}`;
    case '28P01':
      return `PostgreSQL at ${where} refused the password of role "${target.user}" (${variable}); check the user and password in the URL`;
    case '28000':
      return `PostgreSQL at ${where} refused role "${target.user}" (${variable}): the role does not exist or may not log in; create it (CREATE ROLE ${target.user} LOGIN PASSWORD '…') or fix the URL`;
    case '42501':
      if (err.step === 'migrate') {
        return `the owner role "${target.user}" lacks a privilege the migrations need (${firstLine(err.cause)}); to create the runtime role "${config.database.runtimeRole}" it needs CREATEROLE (ALTER ROLE ${target.user} CREATEROLE), or create that role yourself (CREATE ROLE ${config.database.runtimeRole} LOGIN PASSWORD '…')`;
      }
      return `role "${target.user}" may not use database "${target.database}" on ${where} (${firstLine(err.cause)}); GRANT CONNECT ON DATABASE ${target.database} TO ${target.user}`;
  }
  if (isDatabaseUnavailable(err.cause)) {
    const reason = typeof code === 'string' ? code : firstLine(err.cause);
    return `cannot connect to PostgreSQL at ${where} (${reason}); is it running and reachable? check ${variable}`;
  }
  return err.step === 'migrate'
    ? `a migration failed on ${where}/${target.database}: ${firstLine(err.cause)}`
    : `cannot use PostgreSQL at ${where}/${target.database} (${variable}): ${firstLine(err.cause)}`;
}

function parse(url: string): { host: string; port: string; database: string; user: string } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(parsed.username) || 'postgres',
  };
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim();
}
