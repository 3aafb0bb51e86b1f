import { randomUUID } from 'node:crypto';
import { inTenant, uniqueMarker, type SeededTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { apiClient, responseText, whoAmI, type Api, type ApiResult } from 'test/sdk/api-client';
import { describeWithPostgres } from 'test/support/environment';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Tenant A against tenant B, through every route of the served OpenAPI document (multi-tenant
 * mode, auditing on). B's data carries a unique marker in titles, descriptions, settings,
 * metadata, generation names and parameters, member display names and e-mails. A's owner, board
 * admin and member call each route with B's board, generation, user and tenant ids (in the path
 * and in bodies), with `X-Tenant: B`, and with `tenant_id: B` in bodies and query strings:
 *
 * - no request that names B's objects or selects B succeeds (2xx is allowed only where the
 *   request acts on A's own ids and merely carries a stray tenant_id that the route ignores);
 * - no response (status line, headers, body) of any A request contains a B marker or B id;
 * - a B id answers exactly like a random UUID (same status, same body apart from request_id);
 * - the setup routes are 403 for A's tokens (none is a platform admin);
 * - afterwards B's data and row counts are exactly as before.
 */

interface OpenApiOperation {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema> };
}

type IdParam =
  'board_id' | 'generation_id' | 'user_id' | 'tenant_id' | 'invitation_id' | 'domain' | 'slug';
const ID_PARAMS: readonly string[] = [
  'board_id',
  'generation_id',
  'user_id',
  'tenant_id',
  'invitation_id',
  'domain',
  'slug',
];

/** Must not succeed (it names B's objects or selects B), or may succeed (it acts on A's ids). */
type Expectation = 'refused' | 'own';

interface Probe {
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly token: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly expectation: Expectation;
  /** The same request with every B id replaced by a random UUID: must answer identically. */
  readonly twin?: { path: string; body?: unknown };
}

interface TenantBData {
  tenant: SeededTenant;
  ownerId: string;
  memberId: string;
  privateBoardId: string;
  publicBoardId: string;
  privateGenerationId: string;
  publicGenerationId: string;
  idempotentBoardId: string;
  invitationId: string;
  domain: string;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describeWithPostgres('isolation: tenant A against tenant B on every documented route', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let api: Api;
  let doc: OpenApiDocument;
  const MARK = uniqueMarker('bsecret');
  const SHARED_KEY = uniqueMarker('shared-key');
  let tenantA: SeededTenant;
  let b: TenantBData;
  const bTokens = { owner: '', member: '' };
  /** A's callers: tenant admin (owner of A's board), board admin, board viewer. */
  const aTokens = { owner: '', boardAdmin: '', member: '' };
  /** A's member without a tenant claim: only X-Tenant can select a tenant. */
  let aClaimless = '';
  const aIds = {
    owner: '',
    boardAdmin: '',
    member: '',
    boardId: '',
    generationId: '',
    invitationId: '',
    domain: 'a-corp.test',
  };
  /** Every B id and marker that must never appear in an A response. */
  let secrets: string[];

  /** Every response an A token received, for the leak scan. */
  const seen: { label: string; result: ApiResult }[] = [];

  async function asA(label: string, call: Parameters<Api>[0]): Promise<ApiResult> {
    const result = await api(call);
    seen.push({ label, result });
    return result;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    tenantA = await db.createTenant(uniqueMarker('xa'));
    const tenantB = await db.createTenant(uniqueMarker('xb'));
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_MULTI_TENANT_MODE: 'true',
          BOARDS_ENABLE_AUDIT_LOGGING: 'true',
          // Limits would answer 429 where the route itself must answer; they are tested elsewhere.
          BOARDS_RATE_LIMIT_ENABLED: 'false',
        }),
      ),
    );
    api = apiClient(server.baseUrl);

    // ---- tenant B, with the marker in everything it stores
    bTokens.owner = hs256Token({
      sub: 'b-owner',
      tenant: tenantB.slug,
      name: `${MARK} owner`,
      email: `owner-${MARK}@b-corp.test`,
    });
    bTokens.member = hs256Token({
      sub: 'b-member',
      tenant: tenantB.slug,
      name: `${MARK} member`,
      email: `member-${MARK}@b-corp.test`,
    });
    const ownerId = (await whoAmI(api, bTokens.owner)).userId;
    const memberId = (await whoAmI(api, bTokens.member)).userId;
    const bPost = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await api<{ id: string }>({
        method: 'POST',
        path,
        token: bTokens.owner,
        body,
        headers,
      });
      expect(response.status).toBe(201);
      return response.body.id;
    };
    const boardBody = (kind: string, isPublic: boolean) => ({
      title: `${MARK} ${kind} board`,
      description: `${MARK} description`,
      is_public: isPublic,
      settings: { secret: MARK },
      metadata: { note: MARK },
    });
    const privateBoardId = await bPost('/api/boards', boardBody('private', false));
    const publicBoardId = await bPost('/api/boards', boardBody('public', true));
    for (const boardId of [privateBoardId, publicBoardId]) {
      await bPost(`/api/boards/${boardId}/members`, { user_id: memberId, role: 'editor' });
    }
    const generation = (boardId: string) =>
      bPost(`/api/boards/${boardId}/generations`, {
        generator_name: `${MARK}-generator`,
        artifact_type: 'image',
        input_params: { prompt: MARK },
      });
    b = {
      tenant: tenantB,
      ownerId,
      memberId,
      privateBoardId,
      publicBoardId,
      privateGenerationId: await generation(privateBoardId),
      publicGenerationId: await generation(publicBoardId),
      idempotentBoardId: await bPost('/api/boards', boardBody('idempotent', false), {
        'idempotency-key': SHARED_KEY,
      }),
      invitationId: await bPost('/api/tenant/invitations', {
        email: `invitee-${MARK}@b-corp.test`,
      }),
      domain: `${MARK}.b-corp.test`,
    };
    // Domains are added here as the owner role: the tokens of this suite carry no verified e-mail.
    for (const [domain, tenant] of [
      [b.domain, tenantB.id],
      [aIds.domain, tenantA.id],
    ]) {
      await db.owner.query('INSERT INTO tenant_domains (domain, tenant) VALUES ($1, $2)', [
        domain,
        tenant,
      ]);
    }
    secrets = [
      MARK,
      tenantB.id,
      ownerId,
      memberId,
      privateBoardId,
      publicBoardId,
      b.privateGenerationId,
      b.publicGenerationId,
      b.idempotentBoardId,
      b.invitationId,
      b.domain,
    ];

    // ---- tenant A
    const aToken = (sub: string, claims: Record<string, unknown> = { tenant: tenantA.slug }) =>
      hs256Token({ sub, email: `${sub}@a-corp.test`, name: sub, ...claims });
    aTokens.owner = aToken('a-owner');
    aTokens.boardAdmin = aToken('a-board-admin');
    aTokens.member = aToken('a-member');
    aClaimless = aToken('a-member', {});
    aIds.owner = (await whoAmI(api, aTokens.owner)).userId;
    aIds.boardAdmin = (await whoAmI(api, aTokens.boardAdmin)).userId;
    aIds.member = (await whoAmI(api, aTokens.member)).userId;
    const aBoard = await api<{ id: string }>({
      method: 'POST',
      path: '/api/boards',
      token: aTokens.owner,
      body: { title: 'A board' },
    });
    aIds.boardId = aBoard.body.id;
    for (const [userId, role] of [
      [aIds.boardAdmin, 'admin'],
      [aIds.member, 'viewer'],
    ]) {
      const added = await api({
        method: 'POST',
        path: `/api/boards/${aIds.boardId}/members`,
        token: aTokens.owner,
        body: { user_id: userId, role },
      });
      expect(added.status).toBe(201);
    }
    const aGeneration = await api<{ id: string }>({
      method: 'POST',
      path: `/api/boards/${aIds.boardId}/generations`,
      token: aTokens.owner,
      body: { generator_name: 'a-gen', artifact_type: 'text' },
    });
    aIds.generationId = aGeneration.body.id;
    const aInvitation = await api<{ id: string }>({
      method: 'POST',
      path: '/api/tenant/invitations',
      token: aTokens.owner,
      body: { email: 'invitee@a-corp.test' },
    });
    expect(aInvitation.status).toBe(201);
    aIds.invitationId = aInvitation.body.id;

    doc = (await api<OpenApiDocument>({ method: 'GET', path: '/api/openapi.json' })).body;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  /** Everything B holds, as B's owner sees it through the API. */
  async function snapshotOfB(): Promise<unknown[]> {
    const paths = [
      '/api/boards?limit=100&sort=created_asc',
      ...[b.privateBoardId, b.publicBoardId].flatMap((id) => [
        `/api/boards/${id}`,
        `/api/boards/${id}/members`,
        `/api/boards/${id}/generations`,
      ]),
      `/api/generations/${b.privateGenerationId}`,
      '/api/audit-events?limit=100',
    ];
    const results = [];
    for (const path of paths) {
      const response = await api({ method: 'GET', path, token: bTokens.owner });
      expect(response.status).toBe(200);
      results.push(response.body);
    }
    return results;
  }

  /** Row counts of B's tenant-owned tables, read as the owner inside B's tenant transaction. */
  async function rowCountsOfB(): Promise<Record<string, number>> {
    return inTenant(await db.tenantData(b.tenant.id, 'owner'), b.tenant.id, async (runner) => {
      const counts: Record<string, number> = {};
      for (const table of [
        'users',
        'boards',
        'board_members',
        'generations',
        'audit_events',
        'idempotency_keys',
        'tenant_invitations',
        'tenant_usage',
      ]) {
        const [row] = (await runner.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
          n: number;
        }[];
        counts[table] = row.n;
      }
      return counts;
    });
  }

  /** A valid-looking body for a schema; uuid fields get `uuid(name)`, slug fields B's slug. */
  function sampleBody(schema: Schema, uuid: (field: string) => string, field = ''): unknown {
    if (schema.$ref) {
      const name = schema.$ref.replace('#/components/schemas/', '');
      return sampleBody(doc.components.schemas[name], uuid, field);
    }
    if (schema.allOf?.length) return sampleBody(schema.allOf[0], uuid, field);
    if (schema.enum?.length) return schema.enum[0];
    switch (schema.type) {
      case 'object': {
        const body: Record<string, unknown> = {};
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          body[name] = sampleBody(property, uuid, name);
        }
        return body;
      }
      case 'array':
        return [];
      case 'boolean':
        return false;
      case 'integer':
      case 'number':
        return schema.minimum ?? 1;
      case undefined:
      default:
        if (schema.format === 'uuid') return uuid(field);
        if (schema.format === 'email') return 'someone@example.com';
        if (field.includes('slug')) return b.tenant.slug;
        return typeof schema.example === 'string' ? schema.example : 'x';
    }
  }

  function bodySchema(operation: OpenApiOperation): Schema | undefined {
    return operation.requestBody?.content['application/json']?.schema;
  }

  function fillPath(template: string, values: Record<string, string>): string {
    return template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]);
  }

  /** The probes for one documented operation and one A token. */
  function probesFor(
    template: string,
    method: string,
    operation: OpenApiOperation,
    tokenName: string,
    token: string,
  ): Probe[] {
    const params = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
    const unknown = params.filter((name) => !ID_PARAMS.includes(name));
    if (unknown.length > 0) {
      throw new Error(`${method} ${template}: teach this suite the path parameter(s) ${unknown}`);
    }
    const bValues: Record<IdParam, string[]> = {
      board_id: [b.privateBoardId, b.publicBoardId],
      generation_id: [b.privateGenerationId, b.publicGenerationId],
      user_id: [b.ownerId, b.memberId],
      tenant_id: [b.tenant.id],
      invitation_id: [b.invitationId],
      domain: [b.domain],
      slug: [b.tenant.slug],
    };
    const aValues: Record<IdParam, string> = {
      board_id: aIds.boardId,
      generation_id: aIds.generationId,
      user_id: aIds.member,
      tenant_id: tenantA.id,
      invitation_id: aIds.invitationId,
      domain: aIds.domain,
      slug: tenantA.slug,
    };
    const randomValue = (name: string) =>
      name === 'domain'
        ? `${randomUUID()}.test`
        : name === 'slug'
          ? uniqueMarker('random')
          : randomUUID();
    const randomValues: Record<string, string> = Object.fromEntries(
      params.map((name) => [name, randomValue(name)]),
    );
    const schema = bodySchema(operation);
    const bUserFor = (field: string) => (field.includes('owner') ? b.ownerId : b.memberId);
    const bodyB = schema ? sampleBody(schema, bUserFor) : undefined;
    const bodyA = schema ? sampleBody(schema, () => aIds.member) : undefined;
    const bodyRandom = schema ? sampleBody(schema, () => randomUUID()) : undefined;
    const bodyHasIds = JSON.stringify(bodyB) !== JSON.stringify(bodyA);
    const label = (what: string) =>
      `${method.toUpperCase()} ${template} as A ${tokenName}: ${what}`;
    const upper = method.toUpperCase();
    const probes: Probe[] = [];

    // B's ids in the path: all of them, then one at a time among A's ids.
    const pathVariants: { values: Record<string, string>; what: string }[] = [];
    for (const index of [0, 1]) {
      const values = Object.fromEntries(
        params.map((name) => {
          const options = bValues[name as IdParam];
          return [name, options[Math.min(index, options.length - 1)]];
        }),
      );
      pathVariants.push({ values, what: `B ids in path (${index})` });
    }
    if (params.length > 1) {
      for (const name of params) {
        const values = Object.fromEntries(
          params.map((other) => [other, aValues[other as IdParam]]),
        );
        values[name] = bValues[name as IdParam][0];
        pathVariants.push({ values, what: `B ${name} among A ids` });
      }
    }
    if (params.length > 0) {
      for (const { values, what } of pathVariants) {
        const twinValues = Object.fromEntries(
          Object.entries(values).map(([name, value]) => [
            name,
            secretsInclude(value) ? randomValues[name] : value,
          ]),
        );
        probes.push({
          label: label(what),
          method: upper,
          path: fillPath(template, values),
          token,
          body: bodyB,
          expectation: 'refused',
          twin: { path: fillPath(template, twinValues), body: bodyRandom },
        });
      }
    }
    const aPath = fillPath(template, aValues);
    // B's ids in the body, on A's own objects.
    if (bodyHasIds) {
      probes.push({
        label: label('B ids in body'),
        method: upper,
        path: aPath,
        token,
        body: bodyB,
        expectation: 'refused',
        twin: { path: aPath, body: bodyRandom },
      });
    }
    // Selecting B by header: refused whatever the path names.
    for (const path of [
      aPath,
      ...(params.length > 0 ? [fillPath(template, pathVariants[0].values)] : []),
    ]) {
      probes.push({
        label: label(`X-Tenant: B on ${path === aPath ? 'A' : 'B'} ids`),
        method: upper,
        path,
        token,
        headers: { 'x-tenant': b.tenant.slug },
        body: bodyA,
        expectation: 'refused',
      });
    }
    // A stray tenant_id naming B, on A's own ids: rejected by whitelisted DTOs, ignored elsewhere.
    const withTenantId = (body: unknown) =>
      body && typeof body === 'object'
        ? { ...body, tenant_id: b.tenant.id }
        : { tenant_id: b.tenant.id };
    probes.push({
      label: label('tenant_id: B in body'),
      method: upper,
      path: aPath,
      token,
      body: upper === 'GET' || upper === 'DELETE' ? bodyA : withTenantId(bodyA),
      expectation: 'own',
    });
    probes.push({
      label: label('tenant_id=B in query'),
      method: upper,
      path: `${aPath}?tenant_id=${b.tenant.id}`,
      token,
      body: bodyA,
      expectation: 'own',
    });
    if (params.length > 0) {
      probes.push({
        label: label('B ids in path with tenant_id=B in query and body'),
        method: upper,
        path: `${fillPath(template, pathVariants[0].values)}?tenant_id=${b.tenant.id}`,
        token,
        body: upper === 'GET' || upper === 'DELETE' ? undefined : withTenantId(bodyB),
        expectation: 'refused',
      });
    }
    return probes;
  }

  function secretsInclude(value: string): boolean {
    return secrets.includes(value);
  }

  function documentedOperations(): {
    template: string;
    method: string;
    operation: OpenApiOperation;
  }[] {
    return Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([method]) => HTTP_METHODS.includes(method))
        .map(([method, operation]) => ({ template, method, operation })),
    );
  }

  const withoutRequestId = (body: unknown) =>
    body && typeof body === 'object' ? { ...body, request_id: null } : body;

  it("A's own lists show nothing of B", async () => {
    for (const [name, token] of Object.entries(aTokens)) {
      for (const path of [
        '/api/boards?limit=100',
        `/api/boards?limit=100&q=${encodeURIComponent(MARK)}`,
        '/api/boards?limit=100&role=member',
        `/api/boards/${aIds.boardId}/members`,
        `/api/boards/${aIds.boardId}/generations?limit=100`,
        '/api/audit-events?limit=100',
        '/api/auth/me',
      ]) {
        const result = await asA(`GET ${path} as A ${name}`, { method: 'GET', path, token });
        expect({ path, status: result.status }).toEqual({
          path,
          status: path.startsWith('/api/audit-events') && name !== 'owner' ? 403 : 200,
        });
      }
    }
    const search = await api<{ items: unknown[] }>({
      method: 'GET',
      path: `/api/boards?q=${encodeURIComponent(MARK)}`,
      token: aTokens.owner,
    });
    expect(search.body.items).toEqual([]);
  });

  it("an Idempotency-Key that B used never replays B's response to A", async () => {
    const body = { title: 'A with a key B used' };
    const created = await asA('POST /api/boards with B key', {
      method: 'POST',
      path: '/api/boards',
      token: aTokens.owner,
      headers: { 'idempotency-key': SHARED_KEY },
      body,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('idempotent-replayed')).toBeNull();
    expect((created.body as { id: string }).id).not.toBe(b.idempotentBoardId);
  });

  it('sweeps every documented route: nothing of B is reached, and B ids answer like random ones', async () => {
    const countsBefore = await rowCountsOfB();
    const before = await snapshotOfB();
    const operations = documentedOperations();
    expect(operations.length).toBeGreaterThanOrEqual(25);
    const secured = operations.filter((o) => (o.operation.security ?? []).length > 0);

    const probes: Probe[] = [];
    for (const { template, method, operation } of secured) {
      for (const [name, token] of Object.entries(aTokens)) {
        probes.push(...probesFor(template, method, operation, name, token));
      }
      // A's member without a tenant claim, selecting B by header.
      for (const probe of probesFor(template, method, operation, 'claimless', aClaimless)) {
        if (probe.headers?.['x-tenant']) probes.push(probe);
      }
    }
    // Refused probes first; then the ones acting on A's own objects (they may change A's state),
    // deletions last.
    const rank = (p: Probe) => (p.expectation === 'refused' ? 0 : p.method === 'DELETE' ? 2 : 1);
    probes.sort((x, y) => rank(x) - rank(y));

    const successes: string[] = [];
    const mismatches: string[] = [];
    const setupNot403: string[] = [];
    for (const probe of probes) {
      const result = await asA(probe.label, probe);
      if (probe.expectation === 'refused' && result.status < 300) {
        successes.push(`${probe.label} → ${result.status} ${result.text.slice(0, 200)}`);
      }
      if (probe.path.startsWith('/api/setup/') && result.status !== 403) {
        setupNot403.push(`${probe.label} → ${result.status}`);
      }
      if (probe.twin) {
        const twin = await asA(`${probe.label} (random ids)`, { ...probe, ...probe.twin });
        const mine = { status: result.status, body: withoutRequestId(result.body) };
        const theirs = { status: twin.status, body: withoutRequestId(twin.body) };
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          mismatches.push(
            `${probe.label}: B ids → ${JSON.stringify(mine)}; random → ${JSON.stringify(theirs)}`,
          );
        }
      }
    }
    expect(probes.length).toBeGreaterThan(300);
    expect(successes).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(setupNot403).toEqual([]);

    expect(await snapshotOfB()).toEqual(before);
    expect(await rowCountsOfB()).toEqual(countsBefore);
  });

  it('public routes answer A the same with and without B in the request', async () => {
    const operations = documentedOperations().filter(
      (o) => (o.operation.security ?? []).length === 0 && o.method === 'get',
    );
    expect(operations.map((o) => o.template)).toEqual(
      expect.arrayContaining(['/api/setup/status', '/api/tenants/registration/status']),
    );
    for (const { template } of operations) {
      const baseline = await asA(`GET ${template}`, { method: 'GET', path: template });
      for (const [token, query, headers] of [
        [aTokens.owner, '', {}],
        [aTokens.member, `?tenant_id=${b.tenant.id}`, {}],
        [aTokens.owner, '', { 'x-tenant': b.tenant.slug }],
      ] as const) {
        const result = await asA(`GET ${template}${query} as A`, {
          method: 'GET',
          path: `${template}${query}`,
          token,
          headers,
        });
        expect({ template, status: result.status }).toEqual({ template, status: baseline.status });
      }
    }
  });

  // Runs last: it scans every response the tests above collected.
  it('no A response carries a B marker or id, in status, headers or body', () => {
    expect(seen.length).toBeGreaterThan(300);
    const leaks = seen.flatMap(({ label, result }) => {
      const text = responseText(result);
      return secrets
        .filter((secret) => text.includes(secret))
        .map((secret) => `${label}: ${secret}`);
    });
    expect(leaks).toEqual([]);
  });
});
