import type { DataSource } from 'typeorm';
import type { TenancyConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { databaseName, tenantDatabaseUrl, TenantDatabaseUrlError } from './tenant-database-url';

/** Where one tenant's database is, as the control database records it. */
export interface TenantDatabasePlace {
  readonly id: string;
  readonly slug: string;
  /** A URL a platform admin recorded (host, port, database; no credentials), or null. */
  readonly location: string | null;
  /**
   * Whether the tenant has a database of its own (a `tenant_databases` record); a tenant without
   * one lives in the control database, in the shared layout (until `boards tenant move`).
   */
  readonly own?: boolean;
}

/** Where a tenant's database is (the one statement a data source's opening costs the control database). */
export const PLACE_SQL = `SELECT t.id::text AS id, t.slug, d.location,
              (d.tenant IS NOT NULL AND d.state <> 'dropping'
               AND NOT (d.state = 'provisioning' AND coalesce(d.seed ? 'move', false))) AS own
         FROM tenants t LEFT JOIN tenant_databases d ON d.tenant = t.id WHERE t.id = $1::uuid`;

/**
 * The tenants with a database of their own (past provisioning), in slug order, or the one named
 * `slug`: what `boards migrate` and `tenant audit` walk, on the control database as the owner.
 */
export async function ownDatabasePlaces(
  control: Pick<DataSource, 'query'>,
  slug?: string,
): Promise<TenantDatabasePlace[]> {
  return (await control.query(
    `SELECT t.id::text AS id, t.slug, d.location, true AS own FROM tenants t
       JOIN tenant_databases d ON d.tenant = t.id
      WHERE t.status <> 'provisioning' AND ($1::text IS NULL OR t.slug = $1) ORDER BY t.slug`,
    [slug ?? null],
  )) as TenantDatabasePlace[];
}

/** The tenant is not (or no longer) in the registry: its database cannot be reached. */
export class TenantDatabaseUnknownError extends DomainError<ErrorCode.ServiceUnavailable> {
  constructor() {
    super(
      ErrorCode.ServiceUnavailable,
      'service_unavailable',
      "the tenant's database is not available",
      {},
      { 'Retry-After': '1' },
    );
    this.name = 'TenantDatabaseUnknownError';
  }
}

/**
 * The URLs of tenant databases (BOARDS_TENANT_ISOLATION=database): the runtime and owner templates
 * filled for a tenant, with host, port and database replaced by the URL recorded for it, if any.
 * The credentials always come from the templates, so the control database never stores a
 * password.
 */
export class TenantDatabaseLocator {
  constructor(
    private readonly tenancy: Pick<
      TenancyConfig,
      'tenantDatabaseUrlTemplate' | 'tenantDatabaseOwnerUrlTemplate'
    >,
    /** The control database (runtime role): reads `tenants` and `tenant_databases`. */
    private readonly control: DataSource,
  ) {}

  /** The registry's record of where the tenant's database is. */
  async place(tenantId: string): Promise<TenantDatabasePlace> {
    const [row] = (await this.control.query(PLACE_SQL, [tenantId])) as TenantDatabasePlace[];
    if (!row) throw new TenantDatabaseUnknownError();
    return row;
  }

  /** The runtime role's URL of the tenant's database. */
  runtimeUrl(place: TenantDatabasePlace): string {
    return urlFor(required(this.tenancy.tenantDatabaseUrlTemplate), place);
  }

  /** The owner role's URL of the tenant's database (creates, migrates, drops it). */
  ownerUrl(place: TenantDatabasePlace): string {
    return urlFor(
      required(
        this.tenancy.tenantDatabaseOwnerUrlTemplate ?? this.tenancy.tenantDatabaseUrlTemplate,
      ),
      place,
    );
  }
}

function required(template: string | undefined): string {
  if (!template) throw new TenantDatabaseUrlError('BOARDS_TENANT_DATABASE_URL_TEMPLATE is not set');
  return template;
}

/** The template filled for the tenant, moved to the recorded location when there is one. */
export function urlFor(template: string, place: TenantDatabasePlace): string {
  const filled = tenantDatabaseUrl(template, place);
  if (!place.location) return filled;
  const location = checkedLocation(place.location);
  const url = new URL(filled);
  url.host = location.host;
  url.pathname = location.pathname;
  for (const [key, value] of location.searchParams) url.searchParams.set(key, value);
  return url.toString();
}

/**
 * A URL a platform admin may record for a tenant: postgres://host[:port]/database[?params], with
 * a plain database name and no user or password (those are the templates').
 */
export function checkedLocation(location: string): URL {
  databaseName(location);
  const url = new URL(location);
  if (url.username || url.password) {
    throw new TenantDatabaseUrlError(
      'a recorded tenant database URL carries no user or password (the templates give them)',
    );
  }
  if (!url.hostname)
    throw new TenantDatabaseUrlError('a recorded tenant database URL needs a host');
  // Only the TLS mode: any other parameter (host, user, password, options…) would change where
  // the templates' credentials go or what the session does.
  for (const [key, value] of url.searchParams) {
    if (key !== 'sslmode' || !['require', 'verify-ca', 'verify-full'].includes(value)) {
      throw new TenantDatabaseUrlError(
        'a recorded tenant database URL takes no parameter but sslmode=require|verify-ca|verify-full',
      );
    }
  }
  return url;
}

/** Whether two PostgreSQL URLs name the same database on the same server (port 5432 by default). */
export function sameDatabase(a: string, b: string): boolean {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    const where = (url: URL) =>
      `${url.hostname.toLowerCase()}:${url.port || '5432'}/${decodeURIComponent(url.pathname)}`;
    return where(x) === where(y);
  } catch {
    return false;
  }
}
