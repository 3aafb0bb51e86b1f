/**
 * Where a tenant's own database lives with BOARDS_TENANT_ISOLATION=database: the URL template
 * (BOARDS_TENANT_DATABASE_URL_TEMPLATE, `{slug}` and `{id}` placeholders) filled for one tenant,
 * or the URL a platform admin recorded for it. Slugs are lowercase letters, digits and inner
 * hyphens and ids are UUIDs, so a filled name never needs more than double quotes in SQL.
 */

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** PostgreSQL truncates identifiers beyond 63 bytes: two tenants could then share a database. */
const MAX_DATABASE_NAME = 63;
const DATABASE_NAME = /^[A-Za-z0-9_-]+$/;

export interface TenantIdentity {
  readonly slug: string;
  readonly id: string;
}

/** Thrown for a template or URL that cannot name a tenant database safely. */
export class TenantDatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantDatabaseUrlError';
  }
}

/** The template filled for one tenant; refuses a result whose database name is not plain. */
export function tenantDatabaseUrl(template: string, tenant: TenantIdentity): string {
  if (!SLUG.test(tenant.slug)) throw new TenantDatabaseUrlError(`"${tenant.slug}" is not a slug`);
  if (!UUID.test(tenant.id)) throw new TenantDatabaseUrlError(`"${tenant.id}" is not a tenant id`);
  checkTenantDatabaseTemplate(template);
  const url = fill(template, tenant);
  databaseName(url);
  return url;
}

const PROBES: readonly TenantIdentity[] = [
  { slug: 'probe-a', id: '00000000-0000-4000-8000-00000000000a' },
  { slug: 'probe-b', id: '00000000-0000-4000-8000-00000000000b' },
];

/**
 * Refuses a template that would put two tenants in one database: `{slug}` or `{id}` must be in
 * the database name (the URL's path), not only in the user name, host or query (a template such
 * as `…/tenants?application_name={slug}` would give every tenant the database `tenants`, and
 * dropping one tenant's database would drop them all).
 */
export function checkTenantDatabaseTemplate(template: string): void {
  const [a, b] = PROBES.map((probe) => databaseName(fill(template, probe)));
  if (a === b) {
    throw new TenantDatabaseUrlError(
      'the template must put {slug} or {id} in the database name (the URL path), so that each tenant gets a database of its own',
    );
  }
}

function fill(template: string, tenant: TenantIdentity): string {
  return template.replaceAll('{slug}', tenant.slug).replaceAll('{id}', tenant.id);
}

/** The database a PostgreSQL URL names (its path), checked to be a plain identifier. */
export function databaseName(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TenantDatabaseUrlError('not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new TenantDatabaseUrlError('not a postgres:// URL');
  }
  let name: string;
  try {
    name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    throw new TenantDatabaseUrlError('the database name is not valid percent-encoding');
  }
  if (!DATABASE_NAME.test(name) || Buffer.byteLength(name) > MAX_DATABASE_NAME) {
    throw new TenantDatabaseUrlError(
      `"${name}" is not a database name of at most ${MAX_DATABASE_NAME} letters, digits, _ and -`,
    );
  }
  return name;
}

/** The same server and credentials, another database (the maintenance database, `postgres`). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** A database name as a quoted SQL identifier (names are checked plain by databaseName). */
export function quotedDatabase(name: string): string {
  if (!DATABASE_NAME.test(name)) throw new TenantDatabaseUrlError(`"${name}" is not plain`);
  return `"${name}"`;
}

/** The URL without its password, for logs and reports. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
