import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOG, isApiErrorCode } from 'src/core/errors/error-catalog';
import { createTenant, uniqueMarker } from 'test/factories/seed';
import { TOKENS, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, whoAmI, type Api } from 'test/sdk/api-client';
import { SdkWorkspace, lintOpenApi } from 'test/sdk/sdk-workspace';
import { REPO_ROOT, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The OpenAPI document as a contract: what the server serves at /api/openapi.json is the
 * committed openapi.json (so API changes show in review), it passes @redocly/cli's recommended
 * ruleset (redocly.yaml) without errors, every operation is complete (operationId, error
 * responses with the error schema, request body schemas), and a TypeScript client generated from
 * it at test time (openapi-typescript + openapi-fetch) type-checks and drives a board's whole
 * lifecycle, and the tenant's membership (invitations, roles, the last-admin rule), against the
 * running server.
 */

const COMMITTED = join(REPO_ROOT, 'openapi.json');
const REGENERATE =
  'npm run openapi  (builds, then: node dist/src/cli.js openapi --output openapi.json)';

interface ErrorSchema {
  $ref?: string;
  allOf?: [{ $ref?: string }, { properties?: { code?: { enum?: string[] } } }];
}
interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; schema?: { format?: string } }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: ErrorSchema }> }
  >;
}

/** The codes a response lists (`code` enum of the error body), [] when it lists none. */
function listedCodes(response: Operation['responses'][string]): string[] {
  return response.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code?.enum ?? [];
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** JSON pointers where two documents differ (at most `max`). */
function differences(
  a: unknown,
  b: unknown,
  pointer = '',
  found: string[] = [],
  max = 20,
): string[] {
  if (found.length >= max) return found;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    if (JSON.stringify(a) !== JSON.stringify(b)) found.push(pointer || '/');
    return found;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    differences(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      found,
      max,
    );
  }
  return found;
}

function operations(doc: OpenApiDocument): { label: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => ({ label: `${method.toUpperCase()} ${path}`, operation })),
  );
}

describe('OpenAPI document and generated SDK', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;
  let served: OpenApiDocument;
  let workspace: SdkWorkspace;
  let ownerToken: string;
  let memberId: string;
  let slug: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    slug = uniqueMarker('sdk');
    await createTenant(db.owner, slug);
    server = await startApp(
      db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })),
      db.embedded ? { databaseTarget: db.target } : {},
    );
    api = apiClient(server.baseUrl);
    ownerToken = hs256Token({ sub: 'sdk-owner', tenant: slug, name: 'SDK Owner' });
    await whoAmI(api, ownerToken);
    memberId = (await whoAmI(api, hs256Token({ sub: 'sdk-member', tenant: slug }))).userId;
    const response = await api<OpenApiDocument>({ method: 'GET', path: '/api/openapi.json' });
    expect(response.status).toBe(200);
    served = response.body;
    workspace = SdkWorkspace.create();
  }, 60_000);

  afterAll(async () => {
    workspace?.remove();
    await server?.close();
    await db?.drop();
  });

  it('the served document is the committed openapi.json', () => {
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as unknown;
    const differing = differences(served, committed);
    if (differing.length > 0) {
      throw new Error(
        `openapi.json differs from /api/openapi.json at ${differing.join(', ')}.\n` +
          `If the API change is intended, regenerate the file and commit it: ${REGENERATE}`,
      );
    }
    expect(served).toEqual(committed);
  });

  it('passes the @redocly/cli recommended ruleset (redocly.yaml) without errors', async () => {
    const file = join(workspace.dir, 'served-openapi.json');
    writeFileSync(file, JSON.stringify(served));
    const problems = await lintOpenApi(file);
    const errors = problems
      .filter((problem) => problem.severity === 'error')
      .map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(errors).toEqual([]);
  }, 30_000);

  it('every operation has a unique operationId', () => {
    const ids = operations(served).map(({ label, operation }) => [label, operation.operationId]);
    expect(ids.filter(([, id]) => !id)).toEqual([]);
    const names = ids.map(([, id]) => id);
    expect(new Set(names).size).toBe(names.length);
  });

  it('every 4xx response uses the documented error body, and authenticated routes document 401', () => {
    const problems: string[] = [];
    for (const { label, operation } of operations(served)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || Number(status) >= 500) continue;
        const schema = response.content?.['application/json']?.schema;
        const ref = schema?.allOf?.[0]?.$ref ?? schema?.$ref;
        if (ref !== '#/components/schemas/ApiErrorResponse') {
          problems.push(`${label} ${status}: ${ref ?? 'no JSON schema'}`);
        }
      }
      if ((operation.security ?? []).length > 0) {
        const codes = operation.responses['401'] ? listedCodes(operation.responses['401']) : [];
        if (!codes.includes('missing_token') || !codes.includes('invalid_token')) {
          problems.push(`${label}: authenticated but missing_token/invalid_token not documented`);
        }
      }
      if (!Object.keys(operation.responses).some((status) => Number(status) < 300)) {
        problems.push(`${label}: no success response`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every error response lists its codes, each one the catalogue gives the response's status", () => {
    const problems: string[] = [];
    for (const { label, operation } of operations(served)) {
      if (!label.includes(' /api/')) continue;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        const codes = listedCodes(response);
        if (codes.length === 0) problems.push(`${label} ${status}: no codes listed`);
        for (const code of codes) {
          const known = isApiErrorCode(code) ? ERROR_CATALOG[code].status : undefined;
          if (known !== Number(status)) problems.push(`${label} ${status}: ${code} is ${known}`);
          if (!response.description?.includes(`\`${code}\``)) {
            problems.push(`${label} ${status}: ${code} not in the description`);
          }
        }
      }
      // Every /api route can meet the rate limits, every body a validation failure.
      if (!listedCodes(operation.responses['429'] ?? {}).includes('rate_limited')) {
        problems.push(`${label}: rate_limited not documented`);
      }
      if (operation.requestBody) {
        for (const [status, code] of [
          ['400', 'validation_failed'],
          ['400', 'malformed_json'],
          ['413', 'payload_too_large'],
        ]) {
          if (!listedCodes(operation.responses[status] ?? {}).includes(code)) {
            problems.push(`${label}: has a body but ${code} not documented`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('tenant-bound routes list the admission codes of the tenant guard', () => {
    const problems: string[] = [];
    for (const { label, operation } of operations(served)) {
      if (!/ \/api\/(boards|generations|tenant\/|audit-events|auth\/me)/.test(label)) continue;
      const forbidden = listedCodes(operation.responses['403'] ?? {});
      for (const code of ['not_a_member', 'tenant_not_active']) {
        if (!forbidden.includes(code)) problems.push(`${label}: ${code} not documented`);
      }
      if (!listedCodes(operation.responses['400'] ?? {}).includes('tenant_required')) {
        problems.push(`${label}: tenant_required not documented`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every request body has a JSON schema', () => {
    const bodies = operations(served).filter(({ operation }) => operation.requestBody);
    expect(bodies.length).toBeGreaterThanOrEqual(8);
    expect(
      bodies
        .filter(({ operation }) => !operation.requestBody?.content?.['application/json']?.schema)
        .map(({ label }) => label),
    ).toEqual([]);
  });

  it('id path parameters are documented as UUIDs (the server answers 400 to anything else)', () => {
    const untyped = operations(served).flatMap(({ label, operation }) =>
      (operation.parameters ?? [])
        .filter((p) => p.in === 'path' && p.name.endsWith('_id') && p.schema?.format !== 'uuid')
        .map((p) => `${label} {${p.name}}`),
    );
    expect(untyped).toEqual([]);
  });

  it('a client generated from the served document type-checks and drives a board lifecycle', async () => {
    await workspace.generateTypes(`${server.baseUrl}/api/openapi.json`);
    const compiled = await workspace.compileLifecycle();
    expect({ code: compiled.code, diagnostics: compiled.stdout + compiled.stderr }).toEqual({
      code: 0,
      diagnostics: '',
    });

    const run = await workspace.runLifecycle({
      BOARDS_SDK_BASE_URL: server.baseUrl,
      BOARDS_SDK_TOKEN: ownerToken,
      BOARDS_SDK_MEMBER_ID: memberId,
      BOARDS_SDK_KEY: uniqueMarker('sdk-key'),
      BOARDS_SDK_ADMIN_TOKEN: TOKENS.platformAdmin,
      BOARDS_SDK_TENANT_SLUG: slug,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(run.stdout) as Record<string, Record<string, unknown>>;
    const board = summary.created.board as { id: string; version: number };
    expect(summary.created).toMatchObject({
      status: 201,
      location: `/api/boards/${board.id}`,
      board: { title: 'SDK board', settings: { grid: 3 }, my_role: 'owner', version: 1 },
    });
    expect(summary.replay).toEqual({ status: 201, replayed: 'true', id: board.id });
    expect(summary.fetched).toMatchObject({
      status: 200,
      title: 'SDK board',
      etag: expect.stringMatching(/^".+"$/),
    });
    expect(summary.patched).toMatchObject({
      status: 200,
      board: { title: 'SDK board, renamed', is_public: true, version: 2 },
    });
    expect(summary.patched.etag).not.toBe(summary.fetched.etag);
    expect(summary.stale).toMatchObject({
      status: 412,
      error: { status: 412, error: 'Precondition Failed', code: 'etag_mismatch' },
    });
    expect(summary.member).toMatchObject({
      status: 201,
      member: { user_id: memberId, role: 'editor' },
    });
    expect(summary.conflicts).toEqual([
      { route: 'add member', status: 409, code: 'already_a_member', action: 'nothing to do' },
      {
        route: 'create tenant',
        status: 409,
        code: 'tenant_slug_taken',
        action: 'choose another slug',
      },
    ]);
    expect(summary.members).toEqual([memberId]);
    const generation = summary.generation.generation as { id: string };
    expect(summary.generation).toMatchObject({
      status: 201,
      generation: {
        board_id: board.id,
        status: 'pending',
        input_params: { prompt: 'a lighthouse' },
      },
    });
    expect(summary.boards).toEqual([board.id]);
    expect(summary.pending).toEqual([generation.id]);
    expect(summary.cancelled).toEqual({ status: 200, state: 'cancelled' });
    expect(summary.cancelledAgain).toMatchObject({
      status: 409,
      error: { status: 409, code: 'generation_not_cancellable' },
    });
    expect(summary.deleted).toEqual({ status: 204 });
    expect(summary.gone).toMatchObject({
      status: 404,
      error: { status: 404, error: 'Not Found', code: 'board_not_found' },
    });
    expect(summary.smuggled).toEqual({ status: 400 });
    expect(summary.invitation).toMatchObject({
      status: 201,
      invitation: { email: 'invitee@partner.example', role: 'member', status: 'pending' },
    });
    expect(summary.invitedTwice).toMatchObject({
      status: 409,
      error: { status: 409, code: 'invitation_pending' },
    });
    expect(summary.invitations).toEqual(['invitee@partner.example']);
    expect(summary.promoted).toEqual({ status: 200, role: 'admin' });
    expect(summary.demoted).toEqual({ status: 200, role: 'member' });
    expect(summary.admins).toEqual(['admin']);
    expect(summary.lastAdmin).toMatchObject({
      status: 409,
      error: { status: 409, code: 'last_admin' },
    });
    expect(summary.revoked).toEqual({ status: 204 });
    expect(summary.revokedTwice).toEqual({ status: 404 });

    // The server agrees: the board is gone.
    const after = await api({ method: 'GET', path: `/api/boards/${board.id}`, token: ownerToken });
    expect(after.status).toBe(404);
  }, 60_000);
});
