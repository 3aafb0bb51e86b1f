import type { BoardsConfig, QuotaConfig, RouteClass } from 'src/core/config/boards-config';
import type { TenantRecord } from 'src/core/context/records';
import { QUOTA_NAMES } from 'src/core/context/records';

/**
 * What a request's method, route and query make it, for its statement timeout: Node's raw request
 * (what the request context holds: method and the URL with its query string), or Fastify's.
 */
export interface RequestShape {
  readonly method?: string;
  readonly url?: string;
  readonly routeOptions?: { readonly url?: string };
  readonly query?: unknown;
}

const classes = new WeakMap<object, RouteClass>();

/**
 * The route class of a request: `admin` for the platform admin's /api/setup routes and for work
 * outside a request (CLI, background), `search` for a GET with a non-empty `q`, `read` for other
 * GETs, `write` for the rest. Worked out once per request.
 */
export function routeClassOf(request: RequestShape | undefined): RouteClass {
  if (!request) return 'admin';
  let routeClass = classes.get(request);
  if (routeClass === undefined) {
    routeClass = classify(request);
    classes.set(request, routeClass);
  }
  return routeClass;
}

function classify(request: RequestShape): RouteClass {
  const url = request.url ?? '';
  const path = request.routeOptions?.url ?? url;
  if (path.startsWith('/api/setup')) return 'admin';
  if (request.method !== 'GET' && request.method !== 'HEAD') return 'write';
  const q =
    request.query !== undefined
      ? (request.query as Record<string, unknown>).q
      : url.includes('?')
        ? new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll('q')[0]
        : undefined;
  return typeof q === 'string' && q.trim() !== '' ? 'search' : 'read';
}

/**
 * The settings a tenant transaction of `routeClass` opens with, as `SET LOCAL …` statements, one
 * per entry, that follow the statements opening it (utility statements: PostgreSQL neither plans
 * them nor answers them with a row, as it would a SELECT of set_config): the class's statement
 * timeout; for a search also no sequential scan and a hundredfold operator cost. The planner counts an ILIKE over a board as cheap as any
 * operator, not as the read of a TOASTed 10 KB description it is, so for a tenant of a few
 * thousand boards it would rather filter all of them (a sequential scan, or every board through
 * the tenant_id index) than use the trigram indexes; test/integration/board-search-index checks
 * the plan.
 */
export function routeClassStatements(config: BoardsConfig, routeClass: RouteClass): string[] {
  const timeout = `SET LOCAL statement_timeout = '${config.database.statementTimeouts[routeClass]}'`;
  return routeClass === 'search'
    ? [timeout, 'SET LOCAL enable_seqscan = off', 'SET LOCAL cpu_operator_cost = 0.25']
    : [timeout];
}

/** A tenant's effective quotas: the configured defaults, each replaced by its override if set. */
export function effectiveQuotas(
  defaults: QuotaConfig,
  overrides: TenantRecord['quotas'] | undefined,
): QuotaConfig {
  if (!overrides) return defaults;
  const quotas: Record<string, number> = { ...defaults };
  for (const name of QUOTA_NAMES) {
    const value = overrides[name];
    if (Number.isSafeInteger(value) && (value as number) >= 0) quotas[name] = value as number;
  }
  return quotas as unknown as QuotaConfig;
}

const literals = new WeakMap<TenantRecord, string>();

/**
 * The `boards.quota` setting of a tenant transaction, as a SQL literal: the tenant id and its
 * effective quotas, read by the usage triggers (migration 1765238400000). Built from a UUID and
 * safe integers only, so it is safe as a literal; memoized per cached tenant record.
 */
export function quotaSettingLiteral(config: BoardsConfig, tenant: TenantRecord): string {
  let literal = literals.get(tenant);
  if (literal === undefined) {
    const quotas = effectiveQuotas(config.quotas, tenant.quotas);
    const setting: Record<string, string | number> = { tenant: tenant.id };
    for (const name of QUOTA_NAMES) setting[name] = Math.trunc(quotas[name]);
    literal = `'${JSON.stringify(setting)}'`;
    literals.set(tenant, literal);
  }
  return literal;
}
