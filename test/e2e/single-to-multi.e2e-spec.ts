import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TenantAuditReport } from 'src/modules/tenants/cli/tenant-audit';
import { inTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import {
  REPO_ROOT,
  cleanEnv,
  ensureBuilt,
  runCli,
  startApp,
  call,
  type Reply,
  type RunningApp,
} from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Switching an installation from single-tenant to multi-tenant mode (BOARDS_MULTI_TENANT_MODE=true
 * on the same database) keeps every existing row in the default tenant: its users reach their
 * boards with a token whose tenant claim names the default slug, and `boards tenant audit` passes.
 * docs/tenancy.md documents the steps.
 */

interface BoardBody {
  id: string;
  title: string;
}
interface MeBody {
  user: { id: string; tenant_role: string };
  tenant: { id: string; slug: string };
}

describeWithPostgres('single-tenant → multi-tenant on the same database', () => {
  let db: TestDatabase;
  let server: RunningApp | undefined;
  const marker = uniqueMarker('legacy');
  const subject = uniqueMarker('longtime-user');
  const created: BoardBody[] = [];
  let before: MeBody;

  /** A request with `token` to the server running now (single-tenant first, then multi-tenant). */
  const callRunning = <T>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> => {
    if (!server) throw new Error('no server running');
    return call<T>(server, method, path, { token, body, headers });
  };

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase();
  }, 200_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('step 1: a single-tenant install holds boards and a generation in the default tenant', async () => {
    server = await startApp(db.config(jwtAuthEnv({ BOARDS_RATE_LIMIT_ENABLED: 'false' })));
    // Single-tenant tokens need no tenant claim.
    const token = hs256Token({ sub: subject, email: `${subject}@example.com` });
    for (const title of [`${marker} one`, `${marker} two`]) {
      const reply = await callRunning<BoardBody>('POST', '/api/boards', token, { title });
      expect(reply.status).toBe(201);
      created.push(reply.body);
    }
    const generation = await callRunning(
      'POST',
      `/api/boards/${created[0].id}/generations`,
      token,
      {
        generator_name: 'flux-pro',
        artifact_type: 'image',
        input_params: { prompt: marker },
      },
    );
    expect(generation.status).toBe(201);
    const me = await callRunning<MeBody>('GET', '/api/auth/me', token);
    expect(me.status).toBe(200);
    expect(me.body.tenant.slug).toBe('default');
    before = me.body;
    await server.close();
    server = undefined;
  });

  it('step 2: with BOARDS_MULTI_TENANT_MODE=true the data is still in the default tenant', async () => {
    server = await startApp(
      db.config(
        jwtAuthEnv({ BOARDS_MULTI_TENANT_MODE: 'true', BOARDS_RATE_LIMIT_ENABLED: 'false' }),
      ),
    );
    const tenants = (await db.owner.query('SELECT id, slug FROM tenants')) as {
      id: string;
      slug: string;
    }[];
    expect(tenants).toEqual([{ id: before.tenant.id, slug: 'default' }]);
    const counts = await inTenant(db.owner, before.tenant.id, async (runner) => {
      const [row] = (await runner.query(
        `SELECT (SELECT count(*)::int FROM boards) AS boards,
                (SELECT count(*)::int FROM generations) AS generations,
                (SELECT count(*)::int FROM users) AS users`,
      )) as { boards: number; generations: number; users: number }[];
      return row;
    });
    expect(counts).toEqual({ boards: 2, generations: 1, users: 1 });

    // The same person, now with a token whose tenant claim names the default slug.
    const token = hs256Token({ sub: subject, email: `${subject}@example.com`, tenant: 'default' });
    const me = await callRunning<MeBody>('GET', '/api/auth/me', token);
    expect(me.status).toBe(200);
    expect(me.body.tenant).toEqual(expect.objectContaining({ id: before.tenant.id }));
    expect(me.body.user).toEqual(before.user);

    const boards = await callRunning<{ items: BoardBody[] }>('GET', '/api/boards', token);
    expect(boards.status).toBe(200);
    expect(boards.body.items.map((b) => b.id).sort()).toEqual(created.map((b) => b.id).sort());
    const generations = await callRunning<{ items: unknown[] }>(
      'GET',
      `/api/boards/${created[0].id}/generations`,
      token,
    );
    expect(generations.status).toBe(200);
    expect(generations.body.items).toHaveLength(1);

    // The X-Tenant header selects the existing membership as well.
    const withHeader = await callRunning<{ items: BoardBody[] }>(
      'GET',
      '/api/boards',
      hs256Token({ sub: subject, email: `${subject}@example.com` }),
      undefined,
      { 'x-tenant': 'default' },
    );
    expect(withHeader.status).toBe(200);
    expect(withHeader.body.items).toHaveLength(2);
  });

  it('step 3: boards tenant audit passes on the switched database', async () => {
    const result = await runCli(['tenant', 'audit', '--output-format', 'json'], {
      env: cleanEnv({
        ...db.env,
        BOARDS_ENVIRONMENT: 'test',
        BOARDS_LOG_LEVEL: 'silent',
        BOARDS_MULTI_TENANT_MODE: 'true',
      }),
    });
    const report = JSON.parse(result.stdout) as TenantAuditReport;
    expect(report).toMatchObject({ ok: true, tenants_checked: 1, findings: [] });
    expect(result.code).toBe(0);
  });

  it('docs/tenancy.md documents the switch from single-tenant to multi-tenant mode', () => {
    const readme = readFileSync(join(REPO_ROOT, 'docs', 'tenancy.md'), 'utf8');
    const heading = readme.split('\n').find((line) => /^#{2,4} .*single.*multi/i.test(line));
    expect(heading).toBeDefined();
    const section = readme.slice(readme.indexOf(heading ?? ''));
    expect(section).toContain('BOARDS_MULTI_TENANT_MODE=true');
    expect(section).toContain('tenant audit');
  });
});
