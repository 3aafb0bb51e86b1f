import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from 'src/core/config/boards-config';
import { BashSession, shellBlocksOf, type CodeBlock } from 'test/support/doc-blocks';
import { REPO_ROOT, cleanEnv, ensureBuilt, freePort, getJson } from 'test/support/http';
import {
  killServer,
  spawnServer,
  waitUntilReady,
  type ServerProcess,
} from 'test/support/server-process';

/**
 * The README's "Quick start" and "First calls", run as written: every ```bash/```sh block of the
 * two sections, in order, in one bash session (`set -eo pipefail`, so every command of a block
 * must succeed), from the repository's root, against servers this test starts.
 *
 * - The commands that start a server and keep running (`npm start`) are not run: each is replaced
 *   by a compiled server (`node dist/src/cli.js serve`, what `npm start` runs after its build) with
 *   the BOARDS_* variables the session has exported at that point, on a free port of its own and a
 *   temporary embedded data folder (the same one for every start, as `./.boards/pgdata` is; the
 *   repository's own `.boards/` is never touched). A server still running is stopped first with
 *   SIGINT, as Ctrl-C does. `npm ci` is not run either: the dependencies are installed.
 * - `npm ci && npm test` is not run: it would run this suite from inside itself.
 * - Each replaced block must be exactly one of the commands below, so that a README change to them
 *   fails here until this test is changed with it.
 * - `http://127.0.0.1:8800`, where the README's server answers, is pointed at the test's server.
 *
 * Then the final state is checked through HTTP: the boards the README creates are listed.
 */

const README = join(REPO_ROOT, 'README.md');
const SECTIONS = ['## Quick start', '## First calls'];
const README_URL = 'http://127.0.0.1:8800';

/** Blocks replaced by a server the test starts: exactly these commands. */
const START_COMMANDS = ['npm ci && npm start', 'npm start'];
/** Blocks not run at all. */
const SKIPPED_COMMANDS = ['npm ci && npm test'];

/** A block that starts something long-running or runs npm scripts the test must not run. */
const NOT_RUNNABLE =
  /\bnpm\s+(ci|install|i|test|start|run\s+(start|test|bench))\b|\bboards\s+serve\b/;

type Step =
  | { kind: 'start'; block: CodeBlock }
  | { kind: 'skip'; block: CodeBlock }
  | { kind: 'run'; block: CodeBlock; code: string };

function plan(blocks: CodeBlock[], serverUrl: () => string): (() => Step)[] {
  return blocks.map((block) => () => {
    const code = block.code.trim();
    if (START_COMMANDS.includes(code)) return { kind: 'start', block };
    if (SKIPPED_COMMANDS.includes(code)) return { kind: 'skip', block };
    if (NOT_RUNNABLE.test(code)) {
      throw new Error(
        `README.md:${block.line}: this block starts a server or runs npm scripts but is not one of ` +
          `the commands this test replaces (${[...START_COMMANDS, ...SKIPPED_COMMANDS].join(' | ')}); ` +
          `update test/e2e/readme-quickstart.e2e-spec.ts with the README:\n${code}`,
      );
    }
    return { kind: 'run', block, code: code.split(README_URL).join(serverUrl()) };
  });
}

describe('README: Quick start and First calls, as written', () => {
  let workDir: string;
  let session: BashSession | undefined;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-readme-'));
  }, 200_000);

  afterAll(async () => {
    await killServer(server);
    await session?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('has the blocks this test knows how to run', () => {
    const blocks = shellBlocksOf(README, SECTIONS);
    const codes = blocks.map((b) => b.code.trim());
    // The two set-up commands open the README; the server is started again with tokens on.
    expect(codes.slice(0, 2)).toEqual(['npm ci && npm start', 'npm ci && npm test']);
    expect(codes.filter((c) => START_COMMANDS.includes(c))).toEqual([
      'npm ci && npm start',
      'npm start',
    ]);
    for (const code of codes) {
      if (START_COMMANDS.includes(code) || SKIPPED_COMMANDS.includes(code)) continue;
      // Every other block reaches the server only at the URL this test redirects.
      expect(code.replaceAll(README_URL, '')).not.toMatch(/localhost|:8800\b|127\.0\.0\.1/);
    }
  });

  it('uses a development JWT secret that production refuses as a placeholder', () => {
    const secrets = shellBlocksOf(README, SECTIONS).flatMap((block) =>
      [...block.code.matchAll(/\bBOARDS_JWT_SECRET=(\S+)/g)].map((m) => m[1]),
    );
    expect(secrets).toHaveLength(1);
    const production = {
      BOARDS_ENVIRONMENT: 'production',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_DATABASE_URL: 'postgresql://boards_app:Zq8vT2mW9xK4pR7sN1cV@db.internal:5432/boards',
      BOARDS_METRICS_TOKEN: 'b3f1c9e0a7d24e6f8a1b5c3d9e7f0a2b',
      BOARDS_TRUST_PROXY: '10.0.0.0/8',
    };
    expect(() => loadConfig(production)).toThrow(/BOARDS_JWT_SECRET/);
    expect(() => loadConfig({ ...production, BOARDS_JWT_SECRET: secrets[0] })).toThrow(
      /BOARDS_JWT_SECRET: .*placeholder/,
    );
    expect(() =>
      loadConfig({ BOARDS_AUTH_PROVIDER: 'jwt', BOARDS_JWT_SECRET: secrets[0] }),
    ).not.toThrow();
  });

  it('runs every block in one bash session; the boards it creates are listed', async () => {
    const dataDir = join(workDir, 'pgdata');
    // The session: the runner's environment without BOARDS_* (as a fresh terminal), the data
    // folder of the test (for any CLI command that would open one), and npm offline, so that
    // `npx boards` can only ever run this checkout's bin, never fetch a package of that name.
    session = new BashSession({
      cwd: REPO_ROOT,
      env: cleanEnv({ BOARDS_EMBEDDED_DATA_DIR: dataDir, npm_config_offline: 'true' }),
    });
    const bash = session;
    const steps = plan(shellBlocksOf(README, SECTIONS), () => {
      if (!server) throw new Error('a README block calls the server before any start command');
      return server.baseUrl;
    });

    const outputs: { block: CodeBlock; stdout: string }[] = [];
    let starts = 0;
    for (const next of steps) {
      const step = next();
      if (step.kind === 'skip') continue;
      if (step.kind === 'start') {
        if (server) {
          // "stop the server (Ctrl-C)": SIGINT, and the server exits 0 on its own.
          server.child.kill('SIGINT');
          expect(await server.exited).toEqual({ code: 0, signal: null });
        }
        const exported = Object.entries(await bash.environment()).filter(([name]) =>
          name.startsWith('BOARDS_'),
        );
        server = spawnServer(
          cleanEnv({
            ...Object.fromEntries(exported),
            BOARDS_EMBEDDED_DATA_DIR: dataDir,
            BOARDS_SHUTDOWN_DRAIN_SECONDS: '0',
            BOARDS_LOG_LEVEL: 'warn',
          }),
          await freePort(),
        );
        await waitUntilReady(server, 90_000);
        starts++;
        continue;
      }
      try {
        const { stdout } = await bash.run(step.code, 90_000);
        outputs.push({ block: step.block, stdout });
      } catch (err) {
        throw new Error(`README.md:${step.block.line}: ${(err as Error).message}`, { cause: err });
      }
    }
    expect(starts).toBe(2);
    if (!server) throw new Error('no server was started');

    // Quick start as the development user: `default` holds the first board.
    const firstCalls = outputs[0];
    expect(firstCalls.stdout).toContain('"status"');
    expect(firstCalls.stdout.trim().split('\n').pop()).toBe('First board');

    // First calls with a token: the board created in `acme` is listed there, with the README's
    // token, through HTTP (not only in what the README printed).
    const last = outputs[outputs.length - 1];
    const title = /"title":"([^"]+)"/.exec(last.block.code)?.[1];
    const tenant = /X-Tenant: ([a-z0-9-]+)/.exec(last.block.code)?.[1];
    expect([title, tenant]).toEqual(['Spring campaign', 'acme']);
    expect(last.stdout).toContain('"my_role": "owner"');
    expect(last.stdout.trim().split('\n').pop()).toBe(title);

    const token = (await bash.run('printf %s "$TOKEN"')).stdout;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const listed = await getJson<{ items: { title: string; my_role: string }[] }>(
      `${server.baseUrl}/api/boards`,
      { authorization: `Bearer ${token}`, 'x-tenant': tenant ?? '' },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ title, my_role: 'owner' })]);

    // Without the token the API refuses: authentication really is on for the second server.
    const anonymous = await fetch(`${server.baseUrl}/api/boards`, {
      headers: { 'x-tenant': 'acme' },
    });
    await anonymous.arrayBuffer();
    expect(anonymous.status).toBe(401);
  }, 300_000);
});
