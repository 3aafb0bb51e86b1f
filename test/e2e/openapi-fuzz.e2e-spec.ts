import fc from 'fast-check';
import { createTenant } from 'test/factories/seed';
import { PLATFORM_ADMIN_SUBJECT, hs256Token, jwtAuthEnv, signJws } from 'test/factories/tokens';
import { call, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * A property-based fuzz of every route of the served OpenAPI document (fast-check): bodies built
 * from each operation's schema and then mutated (wrong types, missing and unknown fields, random
 * JSON, nesting, long and odd strings), random path and query values, tokens of every kind,
 * X-Tenant, Idempotency-Key, If-Match and content types. Over 5,000 requests: no 5xx, every
 * response with X-Request-Id, and no error body with a stack trace, SQL or driver text.
 */

const RUNS = 5_200;
/** At least this many requests are answered 2xx, by at least this many routes. */
const MIN_SUCCEEDED = 500;
const MIN_HANDLED_ROUTES = 30;
const SEED = Number(process.env.BOARDS_FUZZ_SEED ?? Date.now() % 2_147_483_647);

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | Schema;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Route {
  method: string;
  template: string;
  operation: Operation;
}
interface FuzzRequest {
  route: Route;
  path: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string | undefined>;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string };
}

/** Internals a 4xx/5xx body must never show. */
const LEAKS = [
  /\n\s+at [\w.<>]+ \(/,
  /node_modules/,
  /QueryFailedError|TypeORMError|EntityNotFound|DatabaseError/,
  /\bpg_[a-z]/,
  /syntax error at or near/i,
  /violates (unique|foreign key|not-null|check) constraint/i,
  /relation "[^"]+" does not exist/i,
  /\b(SELECT|INSERT INTO|DELETE FROM)\b.*\b(FROM|VALUES|WHERE)\b/,
  /ECONNREFUSED|ETIMEDOUT/,
];

describe('OpenAPI-driven fuzz: no 5xx, no internals, always X-Request-Id', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let doc: Document;
  let routes: Route[];
  const known: Record<string, string[]> = {};
  const spare: Record<string, string[]> = {};
  const tokens: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    await createTenant(db.owner, 'fuzz');
    const victim = await createTenant(db.owner, 'fuzz-victim');
    app = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_MULTI_TENANT_MODE: 'true',
          BOARDS_ENABLE_AUDIT_LOGGING: 'true',
          BOARDS_RATE_LIMIT_ENABLED: 'false',
        }),
      ),
      db.embedded ? { databaseTarget: db.target } : {},
    );
    const admin = hs256Token({
      sub: 'fuzz-admin',
      tenant: 'fuzz',
      email: 'a@fuzz.test',
      email_verified: true,
    });
    const member = hs256Token({ sub: 'fuzz-member', tenant: 'fuzz' });
    /** A seed request as the tenant admin: its parsed body. */
    const seed = async (method: string, path: string, body?: unknown) =>
      (await call(app, method, path, { token: admin, body })).body;
    const me = await seed('GET', '/api/auth/me');
    const boards: string[] = [];
    const generations: string[] = [];
    const invitations: string[] = [];
    for (let i = 0; i < 4; i++) {
      const board = await seed('POST', '/api/boards', { title: `fuzz board ${i}` });
      boards.push(String(board.id));
      const generation = await seed('POST', `/api/boards/${String(board.id)}/generations`, {
        generator_name: 'g',
        artifact_type: 'image',
      });
      generations.push(String(generation.id));
      const invitation = await seed('POST', '/api/tenant/invitations', {
        email: `i${i}@fuzz.test`,
      });
      invitations.push(String(invitation.id));
    }
    const spareTenants = await Promise.all(
      [1, 2, 3].map(async (i) => (await createTenant(db.owner, `fuzz-spare-${i}`)).id),
    );
    const [board, ...spareBoards] = boards;
    const [generation, ...spareGenerations] = generations;
    const [invitation, ...spareInvitations] = invitations;
    Object.assign(known, {
      board_id: [board],
      generation_id: [generation],
      user_id: [String((me.user as { id: string }).id)],
      invitation_id: [invitation],
      tenant_id: [victim.id],
      domain: ['fuzz.test'],
      slug: ['fuzz-victim'],
    });
    // DELETE takes these, so that the ids the other routes use stay there to be found.
    Object.assign(spare, {
      board_id: spareBoards,
      generation_id: spareGenerations,
      invitation_id: spareInvitations,
      tenant_id: spareTenants,
    });
    tokens.push(
      admin,
      member,
      hs256Token({ sub: PLATFORM_ADMIN_SUBJECT }),
      hs256Token({ sub: 'stranger' }),
      hs256Token({ sub: 'fuzz-admin', tenant: 'fuzz', exp: Math.floor(Date.now() / 1000) - 10 }),
      signJws({ alg: 'none' }, { sub: 'x' }, { secret: '' }),
      'not.a.token',
    );
    doc = (await (await fetch(`${app.baseUrl}/api/openapi.json`)).json()) as Document;
    routes = Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })),
    );
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  // ---- arbitraries ------------------------------------------------------------------------------

  const oddString = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '%00',
      '../..',
      'null',
      '-1',
      '1e309',
      '🎨',
      'ａｃｍｅ',
      "' OR 1=1 --",
      '${x}',
    ),
    fc.string({ minLength: 300, maxLength: 2_000 }),
  );

  function resolve(schema: Schema): Schema {
    if (schema.$ref)
      return resolve(doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
    if (schema.allOf?.length) return resolve(schema.allOf[0]);
    return schema;
  }

  /** A value shaped by the schema (valid-looking), before mutation. */
  function fromSchema(raw: Schema, name: string, depth = 0): fc.Arbitrary<unknown> {
    const schema = resolve(raw);
    if (schema.enum?.length) return fc.constantFrom(...schema.enum);
    switch (schema.type ?? 'string') {
      case 'object': {
        if (depth > 3) return fc.constant({});
        const properties = Object.entries(schema.properties ?? {});
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, property] of properties)
          record[key] = fromSchema(property, key, depth + 1);
        return properties.length > 0
          ? fc.record(record, { requiredKeys: schema.required ?? [] })
          : fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
              maxKeys: 4,
            });
      }
      case 'array':
        return fc.array(fromSchema(schema.items ?? {}, name, depth + 1), { maxLength: 3 });
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: schema.minimum ?? -5, max: schema.maximum ?? 1_000 });
      case 'number':
        return fc.double({ noNaN: true, min: 0, max: 100 });
      default:
        if (schema.format === 'uuid')
          return fc.oneof(fc.uuid(), fc.constantFrom(...(known[name] ?? known.user_id)));
        if (name.includes('email')) return fc.oneof(fc.emailAddress(), oddString);
        if (name.includes('slug'))
          return fc.oneof(fc.constantFrom('fuzz', 'fresh-org', 'admin'), oddString);
        return fc.oneof(
          {
            weight: 4,
            arbitrary: fc
              .stringMatching(/^[A-Za-z][A-Za-z0-9 -]{0,20}$/)
              .map((text) => text.slice(0, schema.maxLength ?? 60).trim() || 'x'),
          },
          { weight: 1, arbitrary: fc.string({ maxLength: schema.maxLength ?? 60 }) },
          { weight: 1, arbitrary: oddString },
        );
    }
  }

  /** A schema-shaped body, then one of many mutations. */
  function bodyFor(route: Route): fc.Arbitrary<FuzzRequest['body']> {
    const schema = route.operation.requestBody?.content?.['application/json']?.schema;
    const shaped = schema ? fromSchema(schema, 'body') : fc.constant({});
    const deep = fc.integer({ min: 1, max: 200 }).map((n) => '['.repeat(n) + ']'.repeat(n));
    return fc.oneof(
      { weight: 8, arbitrary: shaped.map((value) => ({ kind: 'json' as const, value })) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(shaped, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }))
          .map(([value, key, extra]) => ({
            kind: 'json' as const,
            value:
              value && typeof value === 'object' && !Array.isArray(value)
                ? { ...value, [key]: extra }
                : extra,
          })),
      },
      {
        weight: 2,
        arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })),
      },
      {
        weight: 1,
        arbitrary: fc.oneof(oddString, deep).map((text) => ({ kind: 'raw' as const, text })),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    );
  }

  const headersFor = (route: Route) =>
    fc.record(
      {
        authorization: fc.oneof(
          // Mostly whom the route is for (the platform admin on /api/setup, else the tenant's admin
          // and member), so that handlers are reached, not only guards.
          {
            weight: 8,
            arbitrary: (route.template.startsWith('/api/setup')
              ? fc.constantFrom('#2', '#2', '#2', '#0')
              : fc.constantFrom('#0', '#0', '#0', '#1', '#1', '#2')
            ).map((t) => `Bearer ${t}`),
          },
          { weight: 2, arbitrary: fc.constantFrom(...tokensProxy()).map((t) => `Bearer ${t}`) },
          { weight: 1, arbitrary: oddString.map((t) => `Bearer ${t}`) },
          { weight: 1, arbitrary: oddString },
        ),
        'x-tenant': fc.oneof(
          { weight: 4, arbitrary: fc.constant(undefined) },
          { weight: 4, arbitrary: fc.constant('fuzz') },
          { weight: 1, arbitrary: fc.constantFrom('fuzz-victim', 'nowhere', 'FUZZ') },
          { weight: 1, arbitrary: oddString },
        ),
        // Mostly absent or well formed, so that writes get past the header checks to the handlers.
        'idempotency-key': fc.oneof(
          { weight: 4, arbitrary: fc.constant(undefined) },
          { weight: 4, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: oddString },
        ),
        'if-match': fc.oneof(
          { weight: 8, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom('"1"', '*', 'W/"2"') },
          { weight: 1, arbitrary: oddString },
        ),
        'content-type': fc.oneof(
          {
            weight: 8,
            arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
          },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'application/octet-stream',
            ),
          },
        ),
      },
      {
        requiredKeys: ['authorization', 'content-type', 'x-tenant', 'idempotency-key', 'if-match'],
      },
    );

  /** The tokens exist only after beforeAll; the arbitrary picks among them lazily. */
  function tokensProxy(): string[] {
    return Array.from({ length: 7 }, (_, i) => `#${i}`);
  }
  const realToken = (header: string) =>
    header.replace(/#(\d)$/, (_, index: string) => tokens[Number(index)] ?? 'missing');

  function requestArbitrary(): fc.Arbitrary<FuzzRequest> {
    return fc.constantFrom(...routes).chain((route) => {
      const pathNames = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathValues: Record<string, fc.Arbitrary<string>> = {};
      for (const name of pathNames) {
        pathValues[name] = fc.oneof(
          {
            weight: 6,
            arbitrary: fc.constantFrom(
              ...((route.method === 'DELETE' && spare[name]) || known[name] || ['x']),
            ),
          },
          { weight: 2, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: oddString },
        );
      }
      const queryNames = (route.operation.parameters ?? []).filter((p) => p.in === 'query');
      const query = fc.oneof(
        { weight: 2, arbitrary: fc.constant([] as [string, string][]) },
        {
          weight: 3,
          arbitrary: fc.array(
            fc.oneof(
              queryNames.length > 0
                ? fc
                    .constantFrom(...queryNames)
                    .chain((p) =>
                      fc
                        .oneof(fromSchema(p.schema ?? {}, p.name).map(String), oddString)
                        .map((v) => [p.name, v] as [string, string]),
                    )
                : fc.tuple(fc.string({ maxLength: 8 }), oddString),
              fc.tuple(fc.constantFrom('cursor', 'limit', 'tenant_id', 'sort'), oddString),
            ),
            { maxLength: 4 },
          ),
        },
      );
      return fc.record({
        route: fc.constant(route),
        path: fc.record(pathValues),
        query,
        headers: headersFor(route),
        body: ['GET', 'DELETE'].includes(route.method)
          ? fc.constant({ kind: 'none' as const })
          : bodyFor(route),
      });
    });
  }

  async function send(
    request: FuzzRequest,
  ): Promise<{ status: number; requestId: string | null; text: string }> {
    const path = request.route.template.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(request.path[name] ?? ''),
    );
    const search = new URLSearchParams(request.query).toString();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      // fetch refuses header values with control characters or non-Latin-1 text.
      const text = name === 'authorization' ? realToken(value) : value;
      if (/^[\t\x20-\x7e\x80-\xff]*$/.test(text)) headers[name] = text;
    }
    const body =
      request.body.kind === 'json'
        ? JSON.stringify(request.body.value)
        : request.body.kind === 'raw'
          ? request.body.text
          : undefined;
    if (body === undefined) delete headers['content-type'];
    const response = await fetch(`${app.baseUrl}${path}${search ? `?${search}` : ''}`, {
      method: request.route.method,
      headers,
      body,
    });
    return {
      status: response.status,
      requestId: response.headers.get('x-request-id'),
      text: await response.text(),
    };
  }

  it(`${RUNS} generated requests across every documented route (seed printed on failure)`, async () => {
    expect(routes.length).toBeGreaterThanOrEqual(40);
    const statuses = new Map<number, number>();
    const perRoute = new Map<string, number>();
    const handled = new Set<string>();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(), async (request) => {
        const reply = await send(request);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const label = `${request.route.method} ${request.route.template}`;
        perRoute.set(label, (perRoute.get(label) ?? 0) + 1);
        if (reply.status < 300) handled.add(label);
        expect({ label, status: reply.status < 500 }).toEqual({ label, status: true });
        expect(reply.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        if (reply.status >= 400) {
          const body = JSON.parse(reply.text) as Record<string, unknown>;
          expect(body).toMatchObject({ status: reply.status, request_id: reply.requestId });
        }
        // No body shows internals (a 2xx body echoes stored input, which never spells these).
        const { provided_tenant: _echo, ...own } = (
          reply.text.startsWith('{') ? JSON.parse(reply.text) : { text: reply.text }
        ) as Record<string, unknown>;
        const text = JSON.stringify(own);
        for (const pattern of LEAKS)
          expect({ label, leak: pattern.test(text), text }).toMatchObject({ leak: false });
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThanOrEqual(5_000);
    // Every documented route was exercised.
    expect(
      routes
        .filter((r) => !perRoute.has(`${r.method} ${r.template}`))
        .map((r) => `${r.method} ${r.template}`),
    ).toEqual([]);
    const succeeded = [...statuses].reduce((sum, [status, n]) => sum + (status < 300 ? n : 0), 0);
    process.stderr.write(
      `fuzz (seed ${SEED}): ${total} requests over ${perRoute.size} routes, ${succeeded} answered 2xx by ${handled.size} routes, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`,
    );
    // The requests reach the handlers, not only the guards and validation in front of them.
    expect(succeeded).toBeGreaterThanOrEqual(MIN_SUCCEEDED);
    expect(handled.size).toBeGreaterThanOrEqual(MIN_HANDLED_ROUTES);
  }, 300_000);
});
