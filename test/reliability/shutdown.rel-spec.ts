import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { uniqueMarker } from 'test/factories/seed';
import { bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { hasPostgres } from 'test/support/environment';
import { CLI_ENTRY, REPO_ROOT, cleanEnv, ensureBuilt, freePort } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Graceful shutdown of the compiled server (`boards serve`) under load: while client loops keep
 * requests in flight on keep-alive connections, SIGTERM turns /health/ready to 503 at once, the
 * server keeps serving through BOARDS_SHUTDOWN_DRAIN_SECONDS, then stops accepting (connections
 * are refused), finishes the requests it accepted — including an upload still streaming its body
 * when the listener closes — and exits 0 within the drain and a few seconds.
 */

const DRAIN_SECONDS = 2;

interface Outcome {
  /** Milliseconds since SIGTERM (negative before it). */
  readonly at: number;
  readonly path: string;
  readonly status?: number;
  readonly error?: string;
  /** The request went out on a kept-alive socket that had served an earlier response. */
  readonly reusedSocket: boolean;
}

interface Reply {
  readonly status?: number;
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string;
  readonly error?: string;
  readonly reusedSocket: boolean;
}

/** One HTTP request with node:http, so refused connections and resets are told apart. */
function send(
  url: string,
  options: {
    agent: Agent;
    method?: string;
    headers?: Record<string, string>;
    /** Body chunks, written `chunkDelayMs` apart. */
    chunks?: string[];
    chunkDelayMs?: number;
  },
): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { agent: options.agent, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.once('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body,
            reusedSocket: req.reusedSocket,
          }),
        );
        res.once('error', (err: NodeJS.ErrnoException) =>
          resolve({ error: err.code ?? err.message, reusedSocket: req.reusedSocket }),
        );
      },
    );
    req.once('error', (err: NodeJS.ErrnoException) =>
      resolve({ error: err.code ?? err.message, reusedSocket: req.reusedSocket }),
    );
    const chunks = options.chunks ?? [];
    const writeNext = (i: number) => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i]);
      setTimeout(() => writeNext(i + 1), options.chunkDelayMs ?? 0);
    };
    writeNext(0);
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('graceful shutdown of `boards serve` on SIGTERM', () => {
  const slug = uniqueMarker('drain');
  const token = hs256Token({ sub: uniqueMarker('client'), tenant: slug });
  let db: TestDatabase | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;
  let output = '';
  let baseUrl: string;

  beforeAll(async () => {
    await ensureBuilt();
    db = hasPostgres() ? await createTestDatabase() : undefined;
    const database: Record<string, string> = db
      ? { ...db.env, BOARDS_DATABASE_AUTO_MIGRATE: 'false' }
      : { BOARDS_EMBEDDED_DATA_DIR: 'memory://' };
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [CLI_ENTRY, 'serve'], {
      cwd: REPO_ROOT,
      env: cleanEnv({
        ...database,
        ...jwtAuthEnv(),
        BOARDS_ENVIRONMENT: 'test',
        BOARDS_LOG_LEVEL: 'info',
        BOARDS_API_HOST: '127.0.0.1',
        BOARDS_API_PORT: String(port),
        BOARDS_SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
        BOARDS_RATE_LIMIT_ENABLED: 'false',
        BOARDS_TENANT_SLUG: slug,
      }),
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const deadline = Date.now() + 45_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`boards serve exited early: ${output}`);
      const ready = await fetch(`${baseUrl}/health/ready`).catch(() => undefined);
      if (ready?.ok) break;
      if (Date.now() > deadline) throw new Error(`boards serve did not become ready: ${output}`);
      await sleep(200);
    }
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((done) => child?.once('exit', done));
      child.kill('SIGKILL');
      await gone;
    }
    await db?.drop();
  });

  it('readiness 503 first, serving through the drain, no accepted request failed, exit 0', async () => {
    const server = child as ChildProcessWithoutNullStreams;
    let stopped = false;
    const exit = new Promise<{ code: number | null; signal: string | null; time: number }>((done) =>
      server.once('exit', (code, signal) => done({ code, signal, time: Date.now() })),
    );
    void exit.then(() => (stopped = true));

    // Four client loops on keep-alive connections, alternating an authenticated API read (a
    // database transaction) and the liveness probe; and one readiness poller.
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const sent: (Reply & { time: number; path: string })[] = [];
    const loop = async (paths: string[]) => {
      for (let i = 0; !stopped; i++) {
        const path = paths[i % paths.length];
        const time = Date.now();
        const reply = await send(`${baseUrl}${path}`, {
          agent,
          headers: path.startsWith('/api') ? bearer(token) : {},
        });
        sent.push({ time, path, ...reply });
        // A refused connection comes back at once: do not spin.
        if (reply.error) await sleep(20);
      }
    };
    const readyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const polled: (Reply & { time: number; path: string })[] = [];
    const pollReadiness = async () => {
      while (!stopped) {
        const time = Date.now();
        const reply = await send(`${baseUrl}/health/ready`, { agent: readyAgent });
        polled.push({ time, path: '/health/ready', ...reply });
        await sleep(50);
      }
    };
    const loops = [
      loop(['/api/boards', '/health/live']),
      loop(['/health/live', '/api/boards']),
      loop(['/api/boards']),
      loop(['/api/boards']),
      pollReadiness(),
    ];

    await sleep(500);
    const sigtermAt = Date.now();
    server.kill('SIGTERM');

    // An upload that starts shortly before the listener closes and is still sending its body
    // after: accepted, so it must be answered.
    await sleep(DRAIN_SECONDS * 1000 - 400);
    const uploadAgent = new Agent({ keepAlive: false });
    const body = JSON.stringify({ title: `${slug} upload`, description: 'x'.repeat(2_000) });
    const third = Math.ceil(body.length / 3);
    const upload = send(`${baseUrl}/api/boards`, {
      agent: uploadAgent,
      method: 'POST',
      headers: {
        ...bearer(token),
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      },
      chunks: [body.slice(0, third), body.slice(third, 2 * third), body.slice(2 * third)],
      chunkDelayMs: 500,
    });

    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      exit,
      new Promise<null>((done) => {
        timer = setTimeout(() => done(null), (DRAIN_SECONDS + 10) * 1000);
      }),
    ]);
    clearTimeout(timer);
    stopped = true;
    await Promise.all(loops);
    const uploaded = await upload;
    for (const a of [agent, readyAgent, uploadAgent]) a.destroy();
    const relative = (o: Reply & { time: number; path: string }): Outcome => ({
      at: o.time - sigtermAt,
      path: o.path,
      status: o.status,
      error: o.error,
      reusedSocket: o.reusedSocket,
    });
    const outcomes = sent.map(relative);
    const readiness = polled.map(relative);
    const closeAt = DRAIN_SECONDS * 1000;

    // The process exits 0 within the drain and a few seconds.
    expect(exited).not.toBeNull();
    expect({ code: exited?.code, signal: exited?.signal }).toEqual({ code: 0, signal: null });
    expect((exited?.time ?? Infinity) - sigtermAt).toBeLessThan(closeAt + 4_000);

    // The upload in flight when the listener closed was answered.
    expect(uploaded).toMatchObject({ status: 201 });

    // Readiness: 200 before SIGTERM, 503 at once after it, never 200 again, before the close.
    const refusedAt = [...outcomes, ...readiness]
      .filter((o) => o.error === 'ECONNREFUSED')
      .map((o) => o.at);
    expect(refusedAt.length).toBeGreaterThan(0);
    const firstRefused = Math.min(...refusedAt);
    const readyBefore = readiness.filter((o) => o.at < 0);
    expect(readyBefore.length).toBeGreaterThan(0);
    expect(readyBefore.filter((o) => o.status !== 200)).toEqual([]);
    const first503 = readiness.find((o) => o.status === 503);
    expect(first503?.at).toBeLessThan(500);
    expect(first503?.at).toBeLessThan(firstRefused);
    const answeredAfter = readiness.filter((o) => o.at >= (first503?.at ?? 0) && o.status);
    expect(answeredAfter.filter((o) => o.status !== 503)).toEqual([]);
    // The listener closed when the drain ended, not before.
    expect(firstRefused).toBeGreaterThanOrEqual(closeAt - 100);

    // The server kept serving API and probe requests during the drain.
    const drainWindow = outcomes.filter((o) => o.at > 100 && o.at < closeAt - 100);
    for (const path of ['/api/boards', '/health/live']) {
      expect(drainWindow.filter((o) => o.path === path && o.status === 200).length).toBeGreaterThan(
        5,
      );
    }

    // No accepted request failed: every answer is a 200, nothing failed before the close, and
    // after it the only errors are refused connections or a request written on a kept-alive
    // socket just as the server closed it idle (never read by the server; clients retry these).
    expect(outcomes.filter((o) => o.status !== undefined && o.status !== 200)).toEqual([]);
    const failures = [...outcomes, ...readiness].filter((o) => o.error);
    expect(failures.filter((o) => o.at < closeAt - 100)).toEqual([]);
    const keepAliveRace = (o: Outcome) =>
      o.reusedSocket && ['ECONNRESET', 'socket hang up'].includes(String(o.error));
    expect(failures.filter((o) => o.error !== 'ECONNREFUSED' && !keepAliveRace(o))).toEqual([]);

    expect(output).toContain('readiness is now 503');
    expect(output).not.toMatch(/shutdown failed/);
  }, 60_000);
});
