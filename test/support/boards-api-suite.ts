import { ERROR_CATALOG, type ApiErrorCode } from 'src/core/errors/error-catalog';
import { uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api, type ApiCall, type ApiResult } from 'test/sdk/api-client';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The set-up the boards API suites share (boards-crud, boards-list, board-members, generations,
 * boards-validation, idempotency-key, audit-events): one database with a tenant of four users
 * (a tenant admin, then Alice, Bob and Carol as members) and a user of another tenant, and an
 * app with audit logging on, a small body limit and no rate limits.
 */

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** BOARDS_API_BODY_LIMIT_BYTES of the suite's app. */
export const BODY_LIMIT = 128 * 1024;

export interface Board {
  id: string;
  title: string;
  description: string | null;
  is_public: boolean;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
  owner_id: string;
  owner: { id: string; display_name: string | null; avatar_url: string | null } | null;
  my_role: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
export interface Generation {
  id: string;
  board_id: string;
  user_id: string;
  generator_name: string;
  artifact_type: string;
  input_params: Record<string, unknown>;
  status: string;
}

/** A response body without its request_id, to compare two answers. */
export const exceptRequestId = (result: ApiResult) => ({
  ...(result.body as object),
  request_id: null,
});

/**
 * The documented error body with its exact catalogued code, with request_id equal to the
 * X-Request-Id header.
 */
export function expectErrorBody(
  response: ApiResult,
  status: number,
  code: ApiErrorCode,
  detail?: string | RegExp,
): void {
  expect({ code, status: ERROR_CATALOG[code].status }).toEqual({ code, status });
  expect(response.status).toBe(status);
  expect(response.body).toEqual({
    error: expect.any(String),
    code,
    detail:
      detail === undefined
        ? expect.any(String)
        : detail instanceof RegExp
          ? expect.stringMatching(detail)
          : detail,
    status,
    request_id: response.headers.get('x-request-id'),
  });
}

const PEOPLE = {
  alice: { sub: 'api-alice', email: 'alice.secret@api.test', name: 'Alice Api' },
  bob: { sub: 'api-bob', email: 'bob.secret@api.test', name: 'Bob Api' },
  carol: { sub: 'api-carol', email: 'carol.secret@api.test', name: 'Carol Api' },
} as const;

type User = 'admin' | keyof typeof PEOPLE;

export interface BoardsApiSuite {
  /** Filled by the suite's beforeAll, like everything below that is not a function. */
  readonly db: TestDatabase;
  readonly tenantId: string;
  /** A user of another tenant. */
  readonly strangerId: string;
  /** A client of the suite's app. */
  readonly api: Api;
  readonly tokens: Readonly<Record<User, string>>;
  readonly ids: Readonly<Record<User, string>>;
  /** The members' token claims (the admin has no e-mail and no name). */
  readonly people: typeof PEOPLE;
  createBoard(
    token: string,
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<ApiResult<Board>>;
  /** Creates a board and fails unless that is 201. */
  boardOf(token: string, body: Record<string, unknown>): Promise<Board>;
  /** The items of one list page, failing unless the answer is 200. */
  listAll<T>(token: string, path: string): Promise<T[]>;
}

/**
 * Registers the beforeAll and afterAll of the shared set-up in the calling describe and returns
 * its users and helpers. `auditLogging: false` starts the app without audit events (a create is
 * then one statement, which carries its transaction's COMMIT on a PostgreSQL server).
 */
export function boardsApiSuite(options: { auditLogging?: boolean } = {}): BoardsApiSuite {
  let db: TestDatabase;
  let server: RunningApp;
  let client: Api;
  let tenantId: string;
  let strangerId: string;
  const tokens = { admin: '', alice: '', bob: '', carol: '' };
  const ids = { admin: '', alice: '', bob: '', carol: '' };

  const api: Api = <T>(request: ApiCall) => client<T>(request);

  const createBoard = (
    token: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => api<Board>({ method: 'POST', path: '/api/boards', token, body, headers });

  async function boardOf(token: string, body: Record<string, unknown>): Promise<Board> {
    const response = await createBoard(token, body);
    expect(response.status).toBe(201);
    return response.body;
  }

  async function listAll<T>(token: string, path: string): Promise<T[]> {
    const response = await api<Page<T>>({ method: 'GET', path, token });
    expect(response.status).toBe(200);
    return response.body.items;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const slug = uniqueMarker('api');
    tenantId = (await db.createTenant(slug)).id;
    const otherSlug = uniqueMarker('api-other');
    await db.createTenant(otherSlug);
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_ENABLE_AUDIT_LOGGING: String(options.auditLogging ?? true),
          BOARDS_API_BODY_LIMIT_BYTES: String(BODY_LIMIT),
          BOARDS_RATE_LIMIT_ENABLED: 'false',
        }),
      ),
    );
    client = apiClient(server.baseUrl);
    tokens.admin = hs256Token({ sub: 'api-admin', tenant: slug });
    ids.admin = (await whoAmI(api, tokens.admin)).userId;
    for (const name of ['alice', 'bob', 'carol'] as const) {
      tokens[name] = hs256Token({ ...PEOPLE[name], tenant: slug });
      ids[name] = (await whoAmI(api, tokens[name])).userId;
    }
    strangerId = (await whoAmI(api, hs256Token({ sub: 'stranger', tenant: otherSlug }))).userId;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  return {
    get db() {
      return db;
    },
    get tenantId() {
      return tenantId;
    },
    get strangerId() {
      return strangerId;
    },
    api,
    tokens,
    ids,
    people: PEOPLE,
    createBoard,
    boardOf,
    listAll,
  };
}
