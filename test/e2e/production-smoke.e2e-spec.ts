import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BashSession, shellBlocksOf, type CodeBlock } from 'test/support/doc-blocks';
import { REDIS_URL, describeWithPostgres, hasRedis } from 'test/support/environment';
import { REPO_ROOT, cleanEnv, ensureBuilt, freePort } from 'test/support/http';
import {
  killServer,
  spawnServer,
  waitUntilReady,
  type ServerProcess,
} from 'test/support/server-process';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * docs/operations.md, "Smoke test of a production install", run as written against the compiled
 * server (`node dist/src/cli.js serve`) started with BOARDS_ENVIRONMENT=production: a real
 * PostgreSQL test database with separate owner and runtime roles (the migrations applied by the
 * owner beforehand, as `boards migrate up` does; production does not migrate on start), HS256
 * tokens with a 48-byte secret, an issuer and an audience, a metrics token, HTTPS required (the
 * production default) and BOARDS_TRUST_PROXY=127.0.0.1: the test's shell stands for the pod in the
 * cluster whose address the install trusts. Redis too when one is reachable.
 *
 * - The `kubectl run` block (a shell in the cluster, with the two secrets in its environment) is
 *   not run: the test's bash session is that shell, with JWT_SECRET and METRICS_TOKEN set to the
 *   server's. It must be exactly the command below.
 * - The block of the install's values runs as written, then the test sets the same variables, and
 *   no others, to its server's values.
 * - Every other block runs as written, in order, in one bash session with `set -eo pipefail`.
 *
 * Then the state is checked: the board the steps created is gone, and a plain-HTTP API request
 * (no X-Forwarded-Proto) is refused, which is why the steps send the header.
 */

const OPERATIONS = join(REPO_ROOT, 'docs', 'operations.md');
const SECTION = '## Smoke test of a production install';

/** The block that opens a shell in the cluster: replaced by the test's own session. */
const KUBECTL_RUN = `kubectl run boards-smoke --rm -it --restart=Never --image=alpine:3.20 \\
  --env=JWT_SECRET="$(kubectl get secret boards-api -o jsonpath='{.data.BOARDS_JWT_SECRET}' | base64 -d)" \\
  --env=METRICS_TOKEN="$(kubectl get secret boards-api -o jsonpath='{.data.BOARDS_METRICS_TOKEN}' | base64 -d)" \\
  -- sh -c 'apk add --no-cache bash curl jq openssl >/dev/null && exec bash'`;

/** The variables the values block assigns (`NAME=value` at the start of a line). */
function assignedVariables(block: CodeBlock): string[] {
  return [...block.code.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]);
}

/** A bash assignment of `value`, single-quoted. */
const assign = (name: string, value: string) => `${name}='${value.replace(/'/g, `'\\''`)}'`;

describeWithPostgres('docs/operations.md: smoke test of a production install, as written', () => {
  const id = randomBytes(4).toString('hex');
  const tenant = `smoke-${id}`;
  const jwtSecret = randomBytes(48).toString('base64');
  const metricsToken = randomBytes(32).toString('hex');
  const issuer = 'https://login.smoke.example.com';
  const audience = 'boards-api';
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  let session: BashSession | undefined;
  let workDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-smoke-'));
    db = await createTestDatabase();
    server = spawnServer(
      cleanEnv({
        ...db.env,
        BOARDS_ENVIRONMENT: 'production',
        BOARDS_AUTH_PROVIDER: 'jwt',
        BOARDS_JWT_ALGORITHM: 'HS256',
        BOARDS_JWT_SECRET: jwtSecret,
        BOARDS_JWT_ISSUER: issuer,
        BOARDS_JWT_AUDIENCE: audience,
        BOARDS_TENANT_NAME: 'Smoke Test Corporation',
        BOARDS_TENANT_SLUG: tenant,
        BOARDS_METRICS_TOKEN: metricsToken,
        BOARDS_TRUST_PROXY: '127.0.0.1',
        BOARDS_ENABLE_ADVANCED_METRICS: 'true',
        BOARDS_SHUTDOWN_DRAIN_SECONDS: '0',
        BOARDS_LOG_LEVEL: 'warn',
        ...(hasRedis() && {
          BOARDS_REDIS_URL: REDIS_URL,
          BOARDS_REDIS_KEY_PREFIX: `bt_smoke_${id}`,
        }),
      }),
      await freePort(),
    );
    await waitUntilReady(server, 90_000);
  }, 200_000);

  afterAll(async () => {
    await killServer(server);
    await session?.close();
    await db?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('runs every step against a production server; the board it made is gone again', async () => {
    if (!server) throw new Error('no server');
    const blocks = shellBlocksOf(OPERATIONS, [SECTION]);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    const [shell, values, ...steps] = blocks;
    expect(shell.code.trim()).toBe(KUBECTL_RUN);
    expect(assignedVariables(values).sort()).toEqual(
      ['BOARDS_URL', 'JWT_AUDIENCE', 'JWT_ISSUER', 'SMOKE_SUBJECT', 'TENANT'].sort(),
    );
    for (const block of steps) {
      expect([block.line, block.code]).not.toEqual([block.line, expect.stringMatching(/kubectl/)]);
    }

    // The shell `kubectl run` opens: no BOARDS_* settings, the two secrets in its environment.
    session = new BashSession({
      cwd: workDir,
      env: cleanEnv({ JWT_SECRET: jwtSecret, METRICS_TOKEN: metricsToken }),
    });
    await session.run(values.code);
    await session.run(
      [
        assign('BOARDS_URL', server.baseUrl),
        assign('TENANT', tenant),
        assign('SMOKE_SUBJECT', `smoke-test-${id}`),
        assign('JWT_ISSUER', issuer),
        assign('JWT_AUDIENCE', audience),
      ].join('\n'),
    );

    const printed: string[] = [];
    for (const block of steps) {
      try {
        printed.push((await session.run(block.code, 60_000)).stdout);
      } catch (err) {
        throw new Error(`docs/operations.md:${block.line}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    expect(printed[printed.length - 1].trim().split('\n').pop()).toBe('smoke test passed');

    // The board the steps created and deleted is not there, for the same token.
    const token = (await session.run('printf %s "$TOKEN"')).stdout;
    const boardId = (await session.run('printf %s "$BOARD_ID"')).stdout;
    expect(boardId).toMatch(/^[0-9a-f-]{36}$/);
    const headers = {
      authorization: `Bearer ${token}`,
      'x-tenant': tenant,
      'x-forwarded-proto': 'https',
    };
    const list = await fetch(`${server.baseUrl}/api/boards`, { headers });
    expect(list.status).toBe(200);
    const { items } = (await list.json()) as { items: { id: string }[] };
    expect(items.map((board) => board.id)).not.toContain(boardId);

    // Why the steps send X-Forwarded-Proto: without it, production refuses the API over HTTP.
    const { 'x-forwarded-proto': _https, ...plain } = headers;
    const refused = await fetch(`${server.baseUrl}/api/boards`, { headers: plain });
    await refused.arrayBuffer();
    expect(refused.status).toBe(403);
  }, 180_000);
});
