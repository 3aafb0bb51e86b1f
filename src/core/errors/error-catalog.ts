import type { ErrorCode, StatusOf } from './error-code';

/** One code of the catalogue: the status it is answered with and what it means, in one line. */
export interface ErrorCatalogEntry {
  readonly status: number;
  readonly meaning: string;
}

/**
 * Every `code` an error body can carry (DESIGN.md §4): stable snake_case strings a client may
 * switch on. A code never changes its meaning or status once published; new failures get new
 * codes. docs/errors.md is generated from this table (error-catalog.doc.ts), and each route's
 * OpenAPI responses list the codes it can answer (ApiErrors in src/common/api-error.response.ts).
 */
export const ERROR_CATALOG = {
  // ---- the request itself (HTTP framework, body parser, validation) -------------------------
  validation_failed: {
    status: 400,
    meaning: 'A body, query or path field is missing or invalid; the detail names the fields.',
  },
  bad_request: {
    status: 400,
    meaning: 'The framework refused the request for a reason without a more specific code.',
  },
  malformed_json: { status: 400, meaning: 'The request body is not valid JSON.' },
  empty_json_body: { status: 400, meaning: 'The request body is empty but declared as JSON.' },
  invalid_utf8: { status: 400, meaning: 'The request body is not valid UTF-8.' },
  json_too_deep: { status: 400, meaning: 'The JSON body nests deeper than the server accepts.' },
  json_too_many_members: {
    status: 400,
    meaning: 'The JSON body has more object keys and array items than the server accepts.',
  },
  json_forbidden_key: {
    status: 400,
    meaning: 'The JSON body sets `__proto__` or `constructor.prototype`.',
  },
  json_unpaired_surrogate: {
    status: 400,
    meaning: 'A JSON string has an unpaired UTF-16 surrogate escape (such as `\\ud800`).',
  },
  json_number_too_large: {
    status: 400,
    meaning: 'A JSON number is too large to represent (such as 1e400).',
  },
  malformed_url: {
    status: 400,
    meaning: 'The request path is not a valid URL (malformed percent-encoding).',
  },
  malformed_request: {
    status: 400,
    meaning: "Node's HTTP parser refused the request (not valid HTTP).",
  },
  invalid_uuid: { status: 400, meaning: 'A path parameter that must be a UUID is not one.' },
  invalid_cursor: {
    status: 400,
    meaning: 'The pagination cursor is not a next_cursor returned by this API.',
  },
  unauthenticated: {
    status: 401,
    meaning: 'The framework refused the request as unauthenticated without a more specific code.',
  },
  forbidden: {
    status: 403,
    meaning: 'A guard refused the request without a more specific code.',
  },
  https_required: {
    status: 403,
    meaning: 'The server requires HTTPS and the request came over plain HTTP.',
  },
  route_not_found: { status: 404, meaning: 'No route matches the method and path.' },
  request_timeout: { status: 408, meaning: 'The request took too long to arrive.' },
  payload_too_large: {
    status: 413,
    meaning: 'The request body is larger than the server accepts.',
  },
  uri_too_long: { status: 414, meaning: 'The request URL is longer than the server accepts.' },
  path_parameter_too_long: {
    status: 414,
    meaning: 'A path parameter is longer than the server accepts.',
  },
  unsupported_media_type: {
    status: 415,
    meaning: 'The request body is not application/json.',
  },
  headers_too_large: {
    status: 431,
    meaning: 'The request headers are larger than the server accepts.',
  },

  // ---- stored data the request collides with (PostgreSQL refusals, in the service's words) --
  required_field_missing: { status: 400, meaning: 'A required field is missing or null.' },
  invalid_field_value: {
    status: 400,
    meaning: 'A field has a value the service does not accept (a database check failed).',
  },
  field_too_long: { status: 400, meaning: 'A field is longer than the service stores.' },
  nul_character: {
    status: 400,
    meaning: 'A text or JSON field contains a NUL character, which cannot be stored.',
  },
  invalid_field_format: {
    status: 400,
    meaning: 'A field has a format the database cannot read.',
  },
  write_conflict: {
    status: 409,
    meaning: 'The write conflicts with data stored meanwhile; fetch it again and retry.',
  },
  referenced_object_gone: {
    status: 409,
    meaning: 'An object the request refers to was deleted meanwhile.',
  },

  // ---- authentication and tenant selection (auth) -------------------------------------------
  missing_token: {
    status: 401,
    meaning: 'No bearer token was sent (Authorization: Bearer <token>).',
  },
  invalid_token: {
    status: 401,
    meaning: 'The bearer token was rejected; the detail and WWW-Authenticate name the reason.',
  },
  metrics_token_required: {
    status: 401,
    meaning: 'GET /metrics needs its own bearer token (BOARDS_METRICS_TOKEN).',
  },
  tenant_required: {
    status: 400,
    meaning:
      'No tenant is selected: send X-Tenant (no tenant given, or the token claim lists several).',
  },
  invalid_tenant_header: {
    status: 400,
    meaning: 'The X-Tenant header is not a valid tenant slug.',
  },
  invalid_tenant_claim: {
    status: 403,
    meaning: "The token's tenant claim does not name valid tenant slugs.",
  },
  not_a_member: {
    status: 403,
    meaning: 'The caller is not a member of the organization it asked for (or it does not exist).',
  },
  tenant_not_active: {
    status: 403,
    meaning: "The caller's organization is pending approval, suspended or rejected.",
  },
  platform_admin_required: {
    status: 403,
    meaning: 'The operation is reserved to platform admins.',
  },

  // ---- organizations: setup, registration, membership (tenants) -----------------------------
  tenant_not_found: { status: 404, meaning: 'No organization with this id.' },
  tenant_moving: {
    status: 503,
    meaning:
      'The organization is being moved between databases and is read-only for a moment; retry the write shortly.',
  },
  tenant_database_not_ready: {
    status: 503,
    meaning:
      "The organization's own database could not be created or seeded yet (database per tenant); the organization stays `provisioning` and `boards tenant cleanup` completes it.",
  },
  tenant_slug_taken: { status: 409, meaning: 'An organization with this slug already exists.' },
  slug_reserved: { status: 409, meaning: 'The slug is reserved by the platform.' },
  slug_quarantined: {
    status: 409,
    meaning: 'The slug belonged to a deleted organization and is quarantined for now.',
  },
  slug_unavailable: {
    status: 409,
    meaning: 'The slug cannot be registered (self-service; the reason is not disclosed).',
  },
  slug_required: {
    status: 400,
    meaning: 'No slug can be made from the name given; give the slug explicitly.',
  },
  slug_not_quarantined: { status: 404, meaning: 'The slug is not quarantined.' },
  default_tenant_protected: {
    status: 400,
    meaning: 'The default organization cannot be deleted in single-tenant mode.',
  },
  invalid_tenant_transition: {
    status: 409,
    meaning: "The organization's status does not allow this transition.",
  },
  registration_closed: {
    status: 400,
    meaning: 'Self-service registration is only available in multi-tenant mode.',
  },
  email_not_verified: {
    status: 403,
    meaning: 'Registration with allowed e-mail domains needs a verified e-mail address.',
  },
  email_domain_not_allowed: {
    status: 403,
    meaning: "Registration is not open to the caller's e-mail domain.",
  },
  tenant_limit_reached: {
    status: 403,
    meaning: 'The caller has reached the maximum number of organizations per user.',
  },
  tenant_admin_required: {
    status: 403,
    meaning: 'Only admins of the organization may do this.',
  },
  tenant_member_not_found: { status: 404, meaning: 'No member with this id in the organization.' },
  last_admin: {
    status: 409,
    meaning: 'The change would leave the organization without an admin.',
  },
  last_member: {
    status: 409,
    meaning: 'The change would leave the organization without members.',
  },
  invitation_pending: {
    status: 409,
    meaning: 'An invitation for this e-mail address is already pending.',
  },
  invitation_not_found: {
    status: 404,
    meaning: 'No open invitation with this id in the organization.',
  },
  invalid_domain: { status: 400, meaning: 'The value is not a domain name.' },
  public_mail_domain: {
    status: 403,
    meaning: 'The domain is a public mail provider; only the platform admin may add it.',
  },
  domain_not_proven: {
    status: 403,
    meaning: "The caller's verified e-mail address is not at the domain being added.",
  },
  domain_already_added: {
    status: 409,
    meaning: "The domain is already one of the organization's domains.",
  },
  domain_taken: { status: 409, meaning: 'Another organization holds the domain.' },
  domain_not_found: {
    status: 404,
    meaning: "The domain is not one of the organization's domains.",
  },
  quota_exceeded: {
    status: 403,
    meaning: "The write would exceed one of the organization's quotas (fields quota, limit).",
  },

  // ---- boards, members, generations (boards) -----------------------------------------------
  board_not_found: {
    status: 404,
    meaning: 'No board with this id that the caller may read (also for other organizations).',
  },
  board_member_not_found: { status: 404, meaning: 'The user is not a member of this board.' },
  user_not_found: { status: 404, meaning: 'No user with this id in the organization.' },
  generation_not_found: {
    status: 404,
    meaning: 'No generation with this id that the caller may read.',
  },
  board_permission_denied: {
    status: 403,
    meaning: "The caller's role on the board does not allow the operation.",
  },
  already_a_member: { status: 409, meaning: 'The user is already a member of this board.' },
  owner_cannot_be_member: {
    status: 400,
    meaning: 'The owner of a board cannot be added as a member.',
  },
  generation_not_cancellable: {
    status: 409,
    meaning: 'Only pending or processing generations can be cancelled.',
  },
  invalid_if_match: {
    status: 400,
    meaning: 'If-Match is not an ETag returned by this API.',
  },
  etag_mismatch: {
    status: 412,
    meaning: 'The board changed since it was read (If-Match does not match its ETag).',
  },
  invalid_idempotency_key: {
    status: 400,
    meaning: 'Idempotency-Key is not 1 to 255 visible ASCII characters.',
  },
  idempotency_key_in_use: {
    status: 409,
    meaning: 'A request with this Idempotency-Key is still being processed; retry shortly.',
  },
  idempotency_key_reused: {
    status: 422,
    meaning: 'The Idempotency-Key was used before with a different request.',
  },

  // ---- audit ---------------------------------------------------------------------------------
  audit_logging_disabled: {
    status: 404,
    meaning: 'Audit logging is not enabled on this server.',
  },

  // ---- load: rate limits and fair shares (Retry-After says when to retry) ------------------
  rate_limited: {
    status: 429,
    meaning: 'A request rate limit is used up (field limit names which: user, tenant or a route).',
  },
  client_rate_limited: {
    status: 429,
    meaning: 'Too many requests, or too many refused requests, from the client address.',
  },
  tenant_busy: {
    status: 429,
    meaning: "The organization's requests hold all of its share of the database connections.",
  },
  search_budget_exhausted: {
    status: 429,
    meaning: "The organization's searches have used their share of database time.",
  },
  list_budget_exhausted: {
    status: 429,
    meaning: "The organization's list pages have carried their share of data.",
  },

  // ---- server side (5xx: the detail is a generic sentence) ---------------------------------
  internal_error: {
    status: 500,
    meaning: 'An unexpected error; quote the request id when reporting it.',
  },
  database_unavailable: {
    status: 503,
    meaning: 'The database cannot be reached; retry after Retry-After seconds.',
  },
  statement_timeout: {
    status: 503,
    meaning: 'The database statement ran past its time limit (the server is busy); retry later.',
  },
  service_unavailable: {
    status: 503,
    meaning: 'The service is temporarily unavailable; retry shortly.',
  },
} as const satisfies Record<string, ErrorCatalogEntry>;

/** A code of the catalogue. */
export type ApiErrorCode = keyof typeof ERROR_CATALOG;

/** The codes an error of HTTP class K may carry: those with the class's status. */
export type ApiErrorCodeFor<K extends ErrorCode> = {
  [C in ApiErrorCode]: (typeof ERROR_CATALOG)[C]['status'] extends StatusOf<K> ? C : never;
}[ApiErrorCode];

/** Every code, in catalogue order. */
export const API_ERROR_CODES = Object.keys(ERROR_CATALOG) as ApiErrorCode[];

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);
}

/** The HTTP status a code is answered with. */
export function statusOfCode(code: ApiErrorCode): number {
  return ERROR_CATALOG[code].status;
}
