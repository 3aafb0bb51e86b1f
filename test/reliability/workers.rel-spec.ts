import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { uniqueMarker } from 'test/factories/seed';
import { bearer, hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { CLI_ENTRY, REPO_ROOT, cleanEnv, ensureBuilt, freePort, runCli } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * BOARDS_API_WORKERS=N (node:cluster) with the compiled server: the primary forks N workers that
 * share the port, a worker that dies is replaced and the service keeps answering meanwhile, the
 * replacement serves, and SIGTERM to the primary stops everything with exit code 0. Several
 * workers on the embedded database are refused at start.
 */

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Process ids of the children of `pid` (`ps --ppid`). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is no child
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 100 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A `boards serve` primary with its workers, and its collected stdout and stderr. */
interface Primary {
  readonly process: ChildProcessWithoutNullStreams;
  readonly baseUrl: string;
  output(): string;
  /** Number of "listening on" lines: each worker logs one when it starts serving. */
  listening(): number;
  /** The exit, or null when the process is still running after `ms`. */
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>;
  /** SIGKILL to the primary and whatever workers it still has (cleanup). */
  kill(): Promise<void>;
}

async function startPrimary(env: Record<string, string>, workers: number): Promise<Primary> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve'], {
    cwd: REPO_ROOT,
    env: cleanEnv({
      ...env,
      BOARDS_API_HOST: '127.0.0.1',
      BOARDS_API_PORT: String(port),
      BOARDS_API_WORKERS: String(workers),
    }),
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const primary: Primary = {
    process: child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    listening: () => output.match(/listening on http:/g)?.length ?? 0,
    async exited(ms) {
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exit,
        new Promise<null>((done) => {
          timer = setTimeout(() => done(null), ms);
        }),
      ]);
      clearTimeout(timer);
      return result;
    },
    async kill() {
      const orphans = childrenOf(child.pid ?? 0);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await exit;
    },
  };
  await waitFor(`${workers} workers listening`, 60_000, () => {
    if (child.exitCode !== null) throw new Error(`primary exited: ${output}`);
    return primary.listening() >= workers ? true : undefined;
  });
  return primary;
}

/** How long a client waits for an answer before it gives up on the connection. */
const REQUEST_TIMEOUT_MS = 5_000;

describeWithPostgres('BOARDS_API_WORKERS=2 on PostgreSQL', () => {
  const slug = uniqueMarker('workers');
  const token = hs256Token({ sub: uniqueMarker('user'), tenant: slug });
  let db: TestDatabase;
  let env: Record<string, string>;
  const started: Primary[] = [];

  /** A fresh connection per request (no keep-alive), so the primary hands each to a worker. */
  async function get(baseUrl: string, path: string): Promise<number | string> {
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        headers: { ...bearer(token), connection: 'close' },
      });
      await response.arrayBuffer();
      return response.status;
    } catch (err) {
      return String((err as { cause?: { code?: string } }).cause?.code ?? err);
    }
  }

  /** `count` requests, alternating an API read and the liveness probe; their statuses. */
  async function burst(primary: Primary, count: number): Promise<(number | string)[]> {
    const statuses: (number | string)[] = [];
    for (let i = 0; i < count; i++) {
      statuses.push(await get(primary.baseUrl, i % 2 === 0 ? '/api/boards' : '/health/live'));
    }
    return statuses;
  }

  async function start(): Promise<Primary> {
    const primary = await startPrimary(env, 2);
    started.push(primary);
    return primary;
  }

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
    env = {
      ...db.env,
      ...jwtAuthEnv(),
      BOARDS_ENVIRONMENT: 'test',
      BOARDS_LOG_LEVEL: 'info',
      BOARDS_DATABASE_AUTO_MIGRATE: 'false',
      BOARDS_SHUTDOWN_DRAIN_SECONDS: '1',
      BOARDS_RATE_LIMIT_ENABLED: 'false',
      BOARDS_TENANT_SLUG: slug,
    };
  }, 90_000);

  afterAll(async () => {
    await Promise.all(started.map((p) => p.kill()));
    await db?.drop();
  });

  it('serves from two workers, replaces a killed one, and the replacement serves', async () => {
    const primary = await start();
    const pid = primary.process.pid ?? 0;
    const original = childrenOf(pid);
    expect(original).toHaveLength(2);
    expect(await burst(primary, 10)).toEqual(Array(10).fill(200));

    // Kill the first worker: the other keeps answering, and a replacement appears.
    process.kill(original[0], 'SIGKILL');
    await waitFor('the killed worker to be gone', 5_000, () =>
      alive(original[0]) ? undefined : true,
    );
    expect(await burst(primary, 10)).toEqual(Array(10).fill(200));
    const replacement = await waitFor('a replacement worker', 15_000, () => {
      const fresh = childrenOf(pid).filter((p) => !original.includes(p));
      return fresh.length === 1 ? fresh[0] : undefined;
    });
    expect(childrenOf(pid).sort()).toEqual([original[1], replacement].sort());
    expect(primary.output()).toContain(
      `worker ${original[0]} exited (SIGKILL); starting a replacement`,
    );

    // Once the replacement listens, kill the other original worker: what answers within the
    // next second (before the primary even forks the next replacement) is the first replacement.
    await waitFor('the replacement to listen', 30_000, () =>
      primary.listening() === 3 ? true : undefined,
    );
    process.kill(original[1], 'SIGKILL');
    const killedAt = Date.now();
    await waitFor('the second worker to be gone', 5_000, () =>
      alive(original[1]) ? undefined : true,
    );
    expect(await burst(primary, 4)).toEqual(Array(4).fill(200));
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    expect(alive(replacement)).toBe(true);
  }, 60_000);

  it('a worker SIGKILLed under load: only the requests it held fail, the rest are 2xx, and it is replaced', async () => {
    const primary = await start();
    const pid = primary.process.pid ?? 0;
    const original = childrenOf(pid);
    expect(original).toHaveLength(2);
    const CLIENTS = 6;
    const outcomes: { started: number; at: number; result: number | string }[] = [];
    let running = true;
    let killedAt = 0;
    const client = async () => {
      while (running) {
        // Kept-alive connections: each is served by one worker for its whole life. A connection
        // the primary was handing to the worker as it died may never be answered: the client's
        // own timeout ends it (counted below like any request the killed worker held).
        const started = Date.now();
        try {
          const response = await fetch(`${primary.baseUrl}/api/boards`, {
            headers: bearer(token),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          await response.arrayBuffer();
          outcomes.push({ started, at: Date.now(), result: response.status });
        } catch (err) {
          const error = err as { name?: string; cause?: { code?: string } };
          outcomes.push({
            started,
            at: Date.now(),
            result: error.name === 'TimeoutError' ? 'timeout' : String(error.cause?.code ?? err),
          });
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    await sleep(1_500);
    killedAt = Date.now();
    process.kill(original[0], 'SIGKILL');
    await sleep(3_000);
    running = false;
    await Promise.all(clients);

    const failed = outcomes.filter((o) => o.result !== 200);
    // At most one request per connection was in flight on the killed worker.
    expect(failed.length).toBeLessThanOrEqual(CLIENTS);
    for (const failure of failed) {
      expect(typeof failure.result).toBe('string'); // a cut connection, never an HTTP error
      // A request the killed worker held: sent before it died (or as it died).
      expect(failure.started - killedAt).toBeLessThan(1_000);
    }
    expect(
      outcomes.filter((o) => o.at > killedAt + 1_000 && o.result === 200).length,
    ).toBeGreaterThan(50);
    const replacement = await waitFor('a replacement worker', 15_000, () => {
      const fresh = childrenOf(pid).filter((p) => !original.includes(p));
      return fresh.length === 1 ? fresh[0] : undefined;
    });
    expect(alive(replacement)).toBe(true);
    process.stderr.write(
      `worker kill: ${outcomes.length} requests, ${failed.length} failed (in flight on the killed worker), the rest 200\n`,
    );
  }, 90_000);

  it('SIGTERM to the primary drains the workers and exits 0', async () => {
    const primary = await start();
    const workers = childrenOf(primary.process.pid ?? 0);
    expect(workers).toHaveLength(2);
    expect(await burst(primary, 4)).toEqual(Array(4).fill(200));
    const stopping = Date.now();
    primary.process.kill('SIGTERM');
    expect(await primary.exited(8_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopping).toBeLessThan(1_000 + 5_000);
    for (const worker of workers) expect(alive(worker)).toBe(false);
    expect(primary.output().match(/readiness is now 503/g)).toHaveLength(2);
  }, 60_000);

  it('SIGTERM just after a worker died (its replacement still pending) also exits 0', async () => {
    // Exposes src/core/http/lifecycle.ts: the replacement is forked by a 1 s timer that does
    // not check `stopping`, so a worker started after SIGTERM keeps the primary alive.
    const primary = await start();
    const [first] = childrenOf(primary.process.pid ?? 0);
    process.kill(first, 'SIGKILL');
    await waitFor('the killed worker to be gone', 5_000, () => (alive(first) ? undefined : true));
    primary.process.kill('SIGTERM');
    const result = await primary.exited(8_000);
    const leftover = childrenOf(primary.process.pid ?? 0);
    expect({ result, leftover }).toEqual({ result: { code: 0, signal: null }, leftover: [] });
  }, 60_000);
});

describe('BOARDS_API_WORKERS with the embedded database', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  it('is refused at start with a message naming both settings', async () => {
    const result = await runCli(['serve'], {
      env: cleanEnv({
        BOARDS_API_WORKERS: '2',
        BOARDS_EMBEDDED_DATA_DIR: 'memory://',
        BOARDS_API_PORT: String(await freePort()),
      }),
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      'boards: configuration error: BOARDS_API_WORKERS: more than one worker needs BOARDS_DATABASE_URL',
    );
    expect(result.stdout).not.toMatch(/listening/);
  });
});
