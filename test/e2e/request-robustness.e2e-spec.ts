import type { ApiErrorCode } from 'src/core/errors/error-catalog';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { MAX_JSON_DEPTH, MAX_JSON_MEMBERS } from 'src/core/http/json-body.parser';
import { createTenant, inTenant } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Client mistakes are 4xx with the documented body and X-Request-Id, decided before anything is
 * stored: hostile JSON (deep, wide, invalid UTF-8, __proto__), bodies that are not JSON,
 * impossible cursor instants, and requests refused before routing (a malformed URL, an overlong
 * path parameter, oversized headers, bytes that are not HTTP).
 */

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function raw(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<RawReply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

/** Writes `bytes` on a fresh socket and returns everything the server answers. */
function rawSocket(baseUrl: string, bytes: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(answer);
    });
  });
}

/**
 * The documented error body with its code and the response's request id, and nothing of the
 * internals.
 */
function expectDocumented(
  reply: RawReply,
  status: number,
  code: ApiErrorCode,
  detail?: RegExp | string,
): void {
  const id = reply.headers['x-request-id'];
  expect(typeof id).toBe('string');
  const body = JSON.parse(reply.text) as Record<string, unknown>;
  expect(body).toEqual({
    error: expect.any(String),
    code,
    detail:
      detail === undefined
        ? expect.any(String)
        : typeof detail === 'string'
          ? detail
          : expect.stringMatching(detail),
    status,
    request_id: id,
  });
  expect(reply.status).toBe(status);
  expect(reply.text).not.toMatch(/\bat \S+ \(|node_modules|SyntaxError|QueryFailed|SELECT /);
}

describe('request robustness: client mistakes are 4xx, decided before anything is stored', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let tenantId: string;
  let auth: Record<string, string>;
  let boardId: string;
  const json = () => ({ ...auth, 'content-type': 'application/json' });

  beforeAll(async () => {
    db = await createTestDatabase();
    tenantId = (await createTenant(db.owner, 'robust')).id;
    app = await startApp(
      db.config(
        jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false', BOARDS_ENABLE_AUDIT_LOGGING: 'true' }),
      ),
      db.embedded ? { databaseTarget: db.target } : {},
    );
    auth = { authorization: `Bearer ${hs256Token({ sub: 'robust-admin', tenant: 'robust' })}` };
    const created = await raw(app.baseUrl, 'POST', '/api/boards', json(), '{"title":"kept"}');
    expect(created.status).toBe(201);
    boardId = (JSON.parse(created.text) as { id: string }).id;
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const boardCount = async () =>
    (
      (await inTenant(db.owner, tenantId, (runner) =>
        runner.query('SELECT count(*)::int AS n FROM boards'),
      )) as { n: number }[]
    )[0].n;

  /** Every documented write with a JSON body, with the board id filled in. */
  async function writeRoutes(): Promise<{ method: string; path: string }[]> {
    const doc = JSON.parse((await raw(app.baseUrl, 'GET', '/api/openapi.json', {})).text) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    return Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(
          ([method, operation]) =>
            ['post', 'put', 'patch'].includes(method) && operation.requestBody,
        )
        .map(([method]) => ({
          method: method.toUpperCase(),
          path: template
            .replace(/\{board_id\}/g, boardId)
            .replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000'),
        })),
    );
  }

  it('a body nested thousands of levels deep is 400 on every write route, and nothing is stored', async () => {
    const routes = await writeRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    const before = await boardCount();
    for (const depth of [MAX_JSON_DEPTH + 1, 5_000]) {
      const deepArray = '['.repeat(depth) + ']'.repeat(depth);
      const deepObject = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      for (const { method, path } of routes) {
        for (const body of [deepArray, `{"title":"x","settings":${deepObject}}`]) {
          const reply = await raw(app.baseUrl, method, path, json(), body);
          expectDocumented(
            reply,
            400,
            'json_too_deep',
            `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
          );
        }
      }
    }
    expect(await boardCount()).toBe(before);
  });

  it('a body nested to the limit is parsed (and then validated as usual)', async () => {
    const settings = '{"a":'.repeat(MAX_JSON_DEPTH - 2) + '1' + '}'.repeat(MAX_JSON_DEPTH - 2);
    const reply = await raw(
      app.baseUrl,
      'POST',
      '/api/boards',
      json(),
      `{"title":"deep enough","settings":${settings}}`,
    );
    expect(reply.status).toBe(201);
  });

  it('more members than the limit is 400; invalid UTF-8 is 400 and never stored as U+FFFD', async () => {
    const before = await boardCount();
    const wide = `{"title":"wide","settings":{"a":[${'1,'.repeat(MAX_JSON_MEMBERS)}1]}}`;
    expectDocumented(
      await raw(app.baseUrl, 'POST', '/api/boards', json(), wide),
      400,
      'json_too_many_members',
      /more than 20000 members/,
    );
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const body = Buffer.concat([
        Buffer.from('{"title":"bad '),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      expectDocumented(
        await raw(app.baseUrl, 'POST', '/api/boards', json(), body),
        400,
        'invalid_utf8',
        'The request body is not valid UTF-8.',
      );
    }
    expect(await boardCount()).toBe(before);
    const stored = (await inTenant(db.owner, tenantId, (runner) =>
      runner.query(
        `SELECT count(*)::int AS n FROM boards WHERE title LIKE '%' || chr(65533) || '%'`,
      ),
    )) as { n: number }[];
    expect(stored[0].n).toBe(0);
  });

  it('unpaired surrogate escapes and numbers beyond a double are 400; paired escapes are kept', async () => {
    const before = await boardCount();
    for (const body of [
      '{"title":"lone \\ud800"}',
      '{"title":"lone low \\udc00 x"}',
      '{"title":"reversed \\udc00\\ud800"}',
      '{"title":"in a key","settings":{"\\udbff":1}}',
    ]) {
      expectDocumented(
        await raw(app.baseUrl, 'POST', '/api/boards', json(), body),
        400,
        'json_unpaired_surrogate',
        /unpaired UTF-16 surrogate/,
      );
    }
    expectDocumented(
      await raw(
        app.baseUrl,
        'POST',
        '/api/boards',
        json(),
        '{"title":"big","settings":{"n":1e400}}',
      ),
      400,
      'json_number_too_large',
      'The request body has a number too large to represent.',
    );
    expect(await boardCount()).toBe(before);
    const paired = await raw(
      app.baseUrl,
      'POST',
      '/api/boards',
      json(),
      '{"title":"paired \\ud83d\\ude00","settings":{"n":1e300}}',
    );
    expect(paired.status).toBe(201);
    expect(JSON.parse(paired.text)).toMatchObject({
      title: 'paired \u{1F600}',
      settings: { n: 1e300 },
    });
  });

  it('__proto__ and constructor.prototype keys are 400; broken and empty JSON are 400', async () => {
    for (const body of [
      '{"title":"x","__proto__":{"admin":true}}',
      '{"title":"x","settings":{"constructor":{"prototype":{"admin":true}}}}',
    ]) {
      expectDocumented(
        await raw(app.baseUrl, 'POST', '/api/boards', json(), body),
        400,
        'json_forbidden_key',
        /__proto__/,
      );
    }
    expectDocumented(
      await raw(app.baseUrl, 'POST', '/api/boards', json(), '{"title":'),
      400,
      'malformed_json',
      'The request body is not valid JSON.',
    );
    expectDocumented(
      await raw(app.baseUrl, 'POST', '/api/boards', json(), ''),
      400,
      'empty_json_body',
      'The request body is empty but declared as JSON.',
    );
  });

  it('a body that is not JSON is 415, whatever its type', async () => {
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', 'title=x'],
      ['text/plain', '{"title":"x"}'],
      ['multipart/form-data; boundary=x', '--x--'],
      ['application/xml', '<title>x</title>'],
    ]) {
      expectDocumented(
        await raw(app.baseUrl, 'POST', '/api/boards', { ...auth, 'content-type': type }, body),
        415,
        'unsupported_media_type',
        'The request content type is not supported; send application/json.',
      );
    }
  });

  it.each([
    ['February 30th', '2024-02-30T00:00:00.000Z'],
    ['year 0000', '0000-01-01T00:00:00.000Z'],
    ['hour 24', '2024-01-01T24:00:00.000Z'],
  ])(
    'a cursor with an impossible instant (%s) is 400 on every list route',
    async (_name, instant) => {
      const cursor = Buffer.from(
        JSON.stringify([instant, '00000000-0000-4000-8000-000000000000']),
      ).toString('base64url');
      for (const path of [
        '/api/boards',
        `/api/boards/${boardId}/generations`,
        '/api/audit-events',
        '/api/tenant/members',
        '/api/tenant/invitations',
      ]) {
        expectDocumented(
          await raw(app.baseUrl, 'GET', `${path}?cursor=${cursor}`, auth),
          400,
          'invalid_cursor',
          'The cursor is not valid; use next_cursor from a previous page.',
        );
      }
    },
  );

  it('errors before routing carry the documented body and X-Request-Id', async () => {
    expectDocumented(
      await raw(app.baseUrl, 'GET', '/api/boards/%E0%A4%A', auth),
      400,
      'malformed_url',
      /not a valid URL/,
    );
    expectDocumented(
      await raw(app.baseUrl, 'GET', `/api/boards/${'a'.repeat(200)}`, auth),
      414,
      'path_parameter_too_long',
      /path parameter is longer/,
    );
    expectDocumented(
      await raw(app.baseUrl, 'GET', `/api/boards?q=${'a'.repeat(70_000)}`, auth),
      431,
      'headers_too_large',
      /headers \(with the request line\) are larger/,
    );
    const garbage = await rawSocket(app.baseUrl, 'NOT HTTP AT ALL\r\n\r\n');
    const [head, body] = garbage.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    const id = /x-request-id: (\S+)/i.exec(head)?.[1];
    expect(JSON.parse(body)).toEqual({
      error: 'Bad Request',
      code: 'malformed_request',
      detail: 'The request is not valid HTTP.',
      status: 400,
      request_id: id,
    });
  });
});
