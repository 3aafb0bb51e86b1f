import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { uniqueMarker } from 'test/factories/seed';
import { bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { hasPostgres } from 'test/support/environment';
import { CLI_ENTRY, REPO_ROOT, cleanEnv, ensureBuilt, freePort } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * The request log of the compiled server (`node dist/src/cli.js serve`, as `npm start` runs it),
 * read from its stdout: one JSON line per request carrying request_id (the X-Request-Id of the
 * response, or the caller's well-formed one), tenant_slug, user_id, method, route template,
 * status and response_time; probes are not logged; and no line anywhere carries a bearer token
 * or its signature, whether the token was accepted, refused, or sent where it does not belong.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface LogLine {
  level: string;
  msg: string;
  request_id?: string;
  tenant_slug?: string;
  user_id?: string;
  method?: string;
  route?: string;
  status?: number;
  response_time?: number;
  [field: string]: unknown;
}

interface ServerProcess {
  readonly baseUrl: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Spawns `boards serve` on a free port and waits until /health/live answers. */
async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI_ENTRY, 'serve'], {
    cwd: REPO_ROOT,
    env: cleanEnv({ ...env, BOARDS_API_HOST: '127.0.0.1', BOARDS_API_PORT: String(port) }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const server: ServerProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`boards serve exited with ${child.exitCode}: ${stdout}${stderr}`);
    }
    const live = await fetch(`${server.baseUrl}/health/live`).catch(() => undefined);
    if (live?.ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`boards serve did not start: ${stdout}${stderr}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}

describe('request logs of the compiled server (stdout, JSON lines)', () => {
  const slug = uniqueMarker('logs');
  const subject = uniqueMarker('logger');
  const token = hs256Token({ sub: subject, tenant: slug, email: `${subject}@example.com` });
  const signature = token.split('.')[2];
  let db: TestDatabase | undefined;
  let server: ServerProcess;

  beforeAll(async () => {
    await ensureBuilt();
    // A real server database when there is one; otherwise the server's own embedded one.
    db = hasPostgres() ? await createTestDatabase() : undefined;
    const database: Record<string, string> = db
      ? { ...db.env, BOARDS_DATABASE_AUTO_MIGRATE: 'false' }
      : { BOARDS_EMBEDDED_DATA_DIR: 'memory://' };
    server = await spawnServer({
      ...database,
      ...jwtAuthEnv(),
      BOARDS_ENVIRONMENT: 'test',
      BOARDS_LOG_LEVEL: 'info',
      BOARDS_SHUTDOWN_DRAIN_SECONDS: '0',
      // Single-tenant mode: the server creates this tenant on start; the token names it.
      BOARDS_TENANT_SLUG: slug,
    });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  /** Every stdout line, parsed; a line that is not JSON fails the test. */
  function lines(): LogLine[] {
    return (
      server
        .stdout()
        .split('\n')
        // The last piece is a line still being written (or empty): only whole lines count.
        .slice(0, -1)
        .filter((line) => line.trim() !== '')
        .map((line) => {
          try {
            return JSON.parse(line) as LogLine;
          } catch {
            throw new Error(`stdout line is not JSON: ${line}`);
          }
        })
    );
  }

  /** The request line for `requestId`, waiting for the asynchronous logger (up to 3 s). */
  async function requestLine(requestId: string): Promise<LogLine> {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const found = lines().filter((l) => l.request_id === requestId && l.status !== undefined);
      if (found.length > 0) {
        expect(found).toHaveLength(1);
        return found[0];
      }
      if (Date.now() > deadline) throw new Error(`no request line for ${requestId}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async function get(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.baseUrl}${path}`, { headers });
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, requestId: response.headers.get('x-request-id'), body };
  }

  it('one line per request: request_id, tenant_slug, user_id, method, route, status, time', async () => {
    const me = await get('/api/auth/me', bearer(token));
    expect(me.status).toBe(200);
    const userId = (me.body.user as { id: string }).id;

    const response = await get('/api/boards', bearer(token));
    expect(response.status).toBe(200);
    expect(response.requestId).toMatch(UUID);
    const line = await requestLine(String(response.requestId));
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request completed',
      request_id: response.requestId,
      tenant_slug: slug,
      user_id: userId,
      method: 'GET',
      route: '/api/boards',
      status: 200,
      service: 'boards-api',
    });
    expect(typeof line.response_time).toBe('number');
    expect(typeof line.time).toBe('string');
    // pino-http's req/res objects (headers, raw URL) are not written.
    expect(line).not.toHaveProperty('req');
    expect(line).not.toHaveProperty('res');
  });

  it('logs the route template, not the raw URL', async () => {
    const id = '0b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8';
    const response = await get(`/api/boards/${id}?marker=${slug}-query`, bearer(token));
    expect(response.status).toBe(404);
    const line = await requestLine(String(response.requestId));
    expect(line).toMatchObject({ route: '/api/boards/:board_id', status: 404, tenant_slug: slug });
    expect(JSON.stringify(line)).not.toContain(id);
    expect(server.stdout()).not.toContain(`${slug}-query`);
  });

  it('keeps a well-formed incoming X-Request-Id in the response and the log', async () => {
    const incoming = `${slug}-trace:1.2_3`;
    const response = await get('/api/boards', { ...bearer(token), 'X-Request-Id': incoming });
    expect(response.requestId).toBe(incoming);
    expect((await requestLine(incoming)).status).toBe(200);
  });

  it('replaces a malformed incoming X-Request-Id', async () => {
    const response = await get('/api/boards', {
      ...bearer(token),
      'X-Request-Id': `${slug} <bad id>`,
    });
    expect(response.requestId).toMatch(UUID);
    expect((await requestLine(String(response.requestId))).status).toBe(200);
    expect(server.stdout()).not.toContain('<bad id>');
  });

  it('a refused request is logged with its status and without a tenant', async () => {
    const response = await get('/api/boards');
    expect(response.status).toBe(401);
    const line = await requestLine(String(response.requestId));
    expect(line).toMatchObject({ status: 401, route: '/api/boards', method: 'GET' });
    expect(line.tenant_slug).toBeUndefined();
    expect(line.user_id).toBeUndefined();
  });

  it('probe requests are not logged', async () => {
    const probes = await Promise.all(['/health/live', '/health/ready'].map((p) => get(p)));
    const scrape = await get('/health');
    await requestLine(String(scrape.requestId));
    for (const probe of probes) {
      expect(lines().filter((l) => l.request_id === probe.requestId)).toEqual([]);
    }
  });

  it('no line carries a token or its signature, accepted, refused or misplaced', async () => {
    const forged = hs256Token(
      { sub: subject, tenant: slug },
      'another-secret-0123456789abcdef-xyz',
    );
    const expired = hs256Token({ sub: subject, tenant: slug, iat: 1_000, exp: 2_000 });
    const attempts: Record<string, string>[] = [
      bearer(token),
      bearer(forged),
      bearer(expired),
      { authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` },
      { ...bearer(token), cookie: `session=${token}`, 'x-api-key': token },
    ];
    const ids: string[] = [];
    for (const headers of attempts) {
      ids.push(String((await get('/api/boards', headers)).requestId));
    }
    ids.push(String((await get(`/api/boards?access_token=${token}`, bearer(token))).requestId));
    for (const id of ids) await requestLine(id);

    const everything = server.stdout() + server.stderr();
    for (const secret of [token, signature, forged, forged.split('.')[2], expired.split('.')[2]]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toContain('Bearer ');
    lines(); // every line is JSON
  });
});
