import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { EMBEDDED_LOCK_FILE } from 'src/core/database/embedded-database';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import {
  CLI_ENTRY,
  REPO_ROOT,
  cleanEnv,
  ensureBuilt,
  freePort,
  getJson,
  runCli,
  type CliResult,
} from 'test/support/http';

/**
 * `npm start` with no configuration: the compiled server (`node dist/src/cli.js serve`, what
 * `npm start` runs after its build step) comes up on the embedded database, creates the default
 * tenant, shuts down on SIGTERM, and reopens the same data folder. Bad settings stop it with one
 * readable line.
 */

const READY_TIMEOUT_MS = 60_000;

interface Server {
  readonly child: ChildProcessWithoutNullStreams;
  readonly baseUrl: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(cwd: string, env: Record<string, string>, port: number): Server {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve'], { cwd, env, stdio: 'pipe' });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited };
}

async function waitUntilReady(server: Server): Promise<number> {
  const started = Date.now();
  let exitedEarly = false;
  void server.exited.then(() => (exitedEarly = true));
  while (Date.now() - started < READY_TIMEOUT_MS) {
    if (exitedEarly) throw new Error(`server exited before it was ready:\n${server.output()}`);
    try {
      const response = await fetch(`${server.baseUrl}/health/ready`);
      await response.arrayBuffer();
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS} ms:\n${server.output()}`);
}

/** SIGTERM: readiness turns 503 while the server drains, then the process exits on its own. */
async function stop(
  server: Server,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; readyWhileDraining: number }> {
  server.child.kill('SIGTERM');
  let readyWhileDraining = 0;
  for (let attempt = 0; attempt < 20 && server.child.exitCode === null; attempt++) {
    const response = await fetch(`${server.baseUrl}/health/ready`).catch(() => undefined);
    await response?.arrayBuffer();
    readyWhileDraining = response?.status ?? 0;
    if (readyWhileDraining === 503) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () => fail(new Error(`no exit 20 s after SIGTERM:\n${server.output()}`)),
      20_000,
    );
  });
  try {
    return { ...(await Promise.race([server.exited, timeout])), readyWhileDraining };
  } finally {
    clearTimeout(timer);
  }
}

describe('npm start with no configuration (compiled server, embedded database)', () => {
  let workDir: string;
  let dataDir: string;
  const running: Server[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-start-'));
    dataDir = join(workDir, 'pgdata');
  }, 200_000);

  afterAll(async () => {
    for (const server of running) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function startAndCheck(): Promise<void> {
    const port = await freePort();
    const server = startServer(
      workDir,
      cleanEnv({ BOARDS_API_PORT: String(port), BOARDS_EMBEDDED_DATA_DIR: dataDir }),
      port,
    );
    running.push(server);
    await waitUntilReady(server);

    const ready = await getJson<{ status: string; info: Record<string, { status: string }> }>(
      `${server.baseUrl}/health/ready`,
    );
    expect(ready.status).toBe(200);
    expect(ready.body.info.database.status).toBe('up');
    expect(ready.body.info.migrations.status).toBe('up');

    const summary = await getJson(`${server.baseUrl}/health`);
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({
      environment: 'development',
      multi_tenant_mode: false,
      tenant_count: 1,
      database: 'up',
      migrations: 'applied',
    });

    const exit = await stop(server);
    expect(exit).toEqual({ code: 0, signal: null, readyWhileDraining: 503 });
  }

  it('answers /health/ready with 200 and creates the default tenant, then exits on SIGTERM', async () => {
    await startAndCheck();
    // The data lives in the configured folder (a real PostgreSQL data directory), not in the repo.
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(workDir)).toEqual(['pgdata']);
  }, 90_000);

  it('reopens the same data folder and is ready again with still one tenant', async () => {
    await startAndCheck();
  }, 90_000);

  it('the data folder is locked while the server runs: the CLI says so in one line and changes nothing', async () => {
    const port = await freePort();
    const env = cleanEnv({ BOARDS_API_PORT: String(port), BOARDS_EMBEDDED_DATA_DIR: dataDir });
    const server = startServer(workDir, env, port);
    running.push(server);
    await waitUntilReady(server);
    const refused = await runCli(['tenant', 'create', '--name', 'While Serving'], {
      cwd: workDir,
      env,
      timeoutMs: 30_000,
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `boards: the embedded database in ${dataDir} is in use by process ${server.child.pid} (a running "boards serve"?): stop that process first, or make the change through its API\n`,
    );
    expect((await stop(server)).code).toBe(0);
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(false);

    // Once the server is gone the CLI works, and the server sees the tenant after a restart.
    const created = await runCli(
      ['tenant', 'create', '--name', 'After Serving', '--output-format', 'json'],
      { cwd: workDir, env, timeoutMs: 60_000 },
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ slug: 'after-serving' });
  }, 120_000);

  it('a lock left by a process that is gone (killed) is taken over', async () => {
    // A pid that cannot be running: beyond the kernel's pid_max.
    writeFileSync(join(dataDir, EMBEDDED_LOCK_FILE), '4194305');
    const listed = await runCli(['tenant', 'list', '--output-format', 'json'], {
      cwd: workDir,
      env: cleanEnv({ BOARDS_EMBEDDED_DATA_DIR: dataDir }),
      timeoutMs: 60_000,
    });
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { slug: string }[]).map((t) => t.slug)).toContain(
      'after-serving',
    );
    expect(existsSync(join(dataDir, EMBEDDED_LOCK_FILE))).toBe(false);
  }, 90_000);

  it('processes racing for a folder with a stale lock: exactly one gets it', async () => {
    const raceDir = mkdtempSync(join(tmpdir(), 'boards-lock-race-'));
    try {
      writeFileSync(join(raceDir, EMBEDDED_LOCK_FILE), '4194305');
      const lockModule = join(REPO_ROOT, 'dist', 'src', 'core', 'database', 'data-dir-lock.js');
      const script = `require(${JSON.stringify(lockModule)}).lockDataDir(${JSON.stringify(raceDir)}).then(
        (release) => { console.log('won'); setTimeout(release, 1500); },
        (err) => console.log(err.name === 'EmbeddedDatabaseLockedError' ? 'refused' : 'error ' + err.message))`;
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => runNode(script)));
      expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'refused')).toHaveLength(7);
      expect(readdirSync(raceDir)).toEqual([]);
    } finally {
      rmSync(raceDir, { recursive: true, force: true });
    }
  }, 60_000);
});

function runNode(script: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', fail);
    child.once('exit', () => done(out.trim()));
  });
}

describe('a bad setting stops `boards serve` with one line naming the variable', () => {
  let workDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-badcfg-'));
  }, 200_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const secret40 = 'x'.repeat(40);
  /**
   * A production environment complete but for the one setting a case gets wrong (configuration
   * problems are all reported at once: an incomplete base would add lines of its own).
   */
  const production = (settings: Record<string, string>, without: string[] = []) => {
    const base: Record<string, string> = {
      BOARDS_ENVIRONMENT: 'production',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: secret40,
      BOARDS_DATABASE_URL: 'postgresql://boards_app:s3cret-value@127.0.0.1:5432/boards',
      BOARDS_METRICS_TOKEN: 'metrics-token-with-enough-entropy-1234567890',
      BOARDS_TRUST_PROXY: '10.0.0.0/8',
      ...settings,
    };
    for (const name of without) delete base[name];
    return base;
  };
  const cases: [string, string, Record<string, string>][] = [
    ['a port that is not a number', 'BOARDS_API_PORT', { BOARDS_API_PORT: 'abc' }],
    ['a pool size of 0', 'BOARDS_DATABASE_POOL_SIZE', { BOARDS_DATABASE_POOL_SIZE: '0' }],
    [
      'production without authentication',
      'BOARDS_AUTH_PROVIDER',
      production({ BOARDS_AUTH_PROVIDER: 'none' }, ['BOARDS_JWT_SECRET']),
    ],
    [
      'production with a 10-byte JWT secret',
      'BOARDS_JWT_SECRET',
      production({ BOARDS_JWT_SECRET: '0123456789' }),
    ],
    [
      'production on the embedded database',
      'BOARDS_DATABASE_URL',
      production({}, ['BOARDS_DATABASE_URL']),
    ],
    [
      'a default tenant slug with capitals',
      'BOARDS_TENANT_SLUG',
      { BOARDS_TENANT_SLUG: 'Bad_Slug' },
    ],
    [
      "production with .env.production's placeholder secret",
      'BOARDS_JWT_SECRET',
      production({ BOARDS_JWT_SECRET: 'CHANGE_ME_TO_AT_LEAST_32_RANDOM_BYTES_0000000000' }),
    ],
    [
      "production with docs/deployment.md's example runtime password",
      'BOARDS_DATABASE_URL',
      production({
        BOARDS_DATABASE_URL: 'postgresql://boards_app:RUNTIME_PASSWORD@127.0.0.1:5432/boards',
      }),
    ],
  ];

  it.each(cases)('%s (%s)', async (_name, variable, settings) => {
    const port = await freePort();
    const result: CliResult = await runCli(['serve'], {
      cwd: workDir,
      env: cleanEnv({
        BOARDS_API_PORT: String(port),
        BOARDS_EMBEDDED_DATA_DIR: join(workDir, 'pgdata'),
        ...settings,
      }),
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(variable);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(result.stderr).not.toMatch(/^\s{4}at /m);
    // Refused before anything was opened: no data folder was created.
    expect(existsSync(join(workDir, 'pgdata'))).toBe(false);
  });
});

describeWithPostgres(
  'a database that cannot be used stops `boards serve` and `boards migrate` with one line and a hint',
  () => {
    let workDir: string;

    beforeAll(async () => {
      await ensureBuilt();
      workDir = mkdtempSync(join(tmpdir(), 'boards-baddb-'));
    }, 200_000);

    afterAll(() => {
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    const run = async (
      command: string[],
      databaseUrl: string,
      extra: Record<string, string> = {},
    ) =>
      runCli(command, {
        cwd: workDir,
        env: cleanEnv({
          BOARDS_API_PORT: String(await freePort()),
          BOARDS_DATABASE_URL: databaseUrl,
          ...extra,
        }),
        timeoutMs: 30_000,
      });

    it('a database that does not exist', async () => {
      const result = await run(['serve'], 'postgresql://postgres@127.0.0.1:5432/boards_missing_db');
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'boards: cannot start: database "boards_missing_db" does not exist on 127.0.0.1:5432 (BOARDS_DATABASE_URL); create it, e.g. createdb -h 127.0.0.1 -p 5432 -U postgres -O postgres boards_missing_db (BOARDS_DEBUG=true prints the details)\n',
      );
    });

    it('a refused connection, for serve and for migrate up', async () => {
      const port = await freePort();
      const line = `boards: cannot start: cannot connect to PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED); is it running and reachable? check BOARDS_DATABASE_URL (BOARDS_DEBUG=true prints the details)\n`;
      const serve = await run(['serve'], `postgresql://postgres@127.0.0.1:${port}/boards`);
      expect([serve.code, serve.stdout, serve.stderr]).toEqual([1, '', line]);
      const migrate = await run(
        ['migrate', 'up'],
        `postgresql://postgres@127.0.0.1:${port}/boards`,
      );
      expect(migrate.code).toBe(1);
      expect(migrate.stderr.split('\n').filter(Boolean).at(-1)).toBe(line.trim());
    });

    it('an owner role that may not create the runtime role', async () => {
      const suffix = randomBytes(4).toString('hex');
      const owner = `bt_noroleowner_${suffix}`;
      const database = `bt_norole_${suffix}`;
      const admin = new Client({ connectionString: ADMIN_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${owner} LOGIN NOCREATEROLE`);
        await admin.query(`CREATE DATABASE ${database} OWNER ${owner}`);
        const result = await run(['serve'], `postgresql://${owner}@127.0.0.1:5432/${database}`, {
          BOARDS_DATABASE_RUNTIME_ROLE: `bt_missing_app_${suffix}`,
        });
        expect([result.code, result.stdout]).toEqual([1, '']);
        expect(result.stderr).toBe(
          `boards: cannot start: the owner role "${owner}" lacks a privilege the migrations need (permission denied to create role); to create the runtime role "bt_missing_app_${suffix}" it needs CREATEROLE (ALTER ROLE ${owner} CREATEROLE), or create that role yourself (CREATE ROLE bt_missing_app_${suffix} LOGIN PASSWORD '…') (BOARDS_DEBUG=true prints the details)\n`,
        );
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.query(`DROP ROLE IF EXISTS ${owner}`);
        await admin.end();
      }
    });

    it('with BOARDS_DEBUG the same line comes first, then the details', async () => {
      const port = await freePort();
      const result = await run(['serve'], `postgresql://postgres@127.0.0.1:${port}/boards`, {
        BOARDS_DEBUG: 'true',
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n');
      expect(
        lines.some((l) =>
          l.startsWith(
            `boards: cannot start: cannot connect to PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED)`,
          ),
        ),
      ).toBe(true);
      expect(result.stderr).toMatch(/ECONNREFUSED[\s\S]*\n\s+at /);
      // The driver's own error, with its stack and code, follows the wrapper's.
      expect(result.stderr).toMatch(
        /\ncaused by: Error: connect ECONNREFUSED[\s\S]*\(code: ECONNREFUSED\)/,
      );
    });
  },
);
