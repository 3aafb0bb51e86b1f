import { createTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type Reply, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Client addresses behind a proxy (BOARDS_TRUST_PROXY), through HTTP: without the setting
 * X-Forwarded-For is ignored, so a spoofed header neither lands in audit events nor escapes the
 * per-address rate limit; with it, the address is the rightmost hop that is not a trusted proxy.
 * The test client connects from 127.0.0.1 and plays the proxy (or a client forging its headers).
 */

const PER_ADDRESS = 3;
const CHAIN = '6.6.6.6, 10.1.2.3';

interface AuditEvent {
  action: string;
  target_id: string | null;
  ip: string | null;
}

describeWithPostgres('client addresses behind a proxy (BOARDS_TRUST_PROXY)', () => {
  let db: TestDatabase;
  let adminToken: string;
  /**
   * One app per setting, all on the suite's database; the `limited*` ones allow PER_ADDRESS
   * requests a minute per caller (the audit ones keep the default, which one admin stays under).
   */
  const servers: Record<
    'none' | 'loopback' | 'ingress' | 'limitedNone' | 'limitedLoopback',
    RunningApp | undefined
  > = {
    none: undefined,
    loopback: undefined,
    ingress: undefined,
    limitedNone: undefined,
    limitedLoopback: undefined,
  };
  const server = (name: keyof typeof servers): RunningApp => {
    const running = servers[name];
    if (!running) throw new Error(`server ${name} did not start`);
    return running;
  };

  const start = (trustProxy: string | undefined, extra: Record<string, string> = {}) =>
    startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_ENABLE_AUDIT_LOGGING: 'true',
          ...(trustProxy !== undefined && { BOARDS_TRUST_PROXY: trustProxy }),
          ...extra,
        }),
      ),
      db.embedded ? { databaseTarget: db.target } : {},
    );
  const limited = { BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: String(PER_ADDRESS) };

  beforeAll(async () => {
    db = await createTestDatabase();
    const tenant = await createTenant(db.owner, uniqueMarker('proxy'));
    // The first user of a fresh tenant is its admin (reads the audit trail).
    adminToken = hs256Token({ sub: uniqueMarker('proxy-admin'), tenant: tenant.slug });
    servers.none = await start(undefined);
    servers.loopback = await start('127.0.0.1');
    servers.ingress = await start('127.0.0.1,10.0.0.0/8');
    servers.limitedNone = await start(undefined, limited);
    servers.limitedLoopback = await start('127.0.0.1', limited);
  }, 60_000);

  afterAll(async () => {
    for (const running of Object.values(servers)) await running?.close();
    await db?.drop();
  });

  /**
   * Creates a board through `name` with `forwardedFor` as X-Forwarded-For; returns the address its
   * `board.create` audit event recorded.
   */
  async function auditedIp(name: keyof typeof servers, forwardedFor?: string): Promise<string> {
    const app = server(name);
    const headers: Record<string, string> =
      forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    const created = await call<{ id: string }>(app, 'POST', '/api/boards', {
      token: adminToken,
      body: { title: uniqueMarker('audited') },
      headers,
    });
    expect(created.status).toBe(201);
    const events = await call<{ items: AuditEvent[] }>(
      app,
      'GET',
      '/api/audit-events?action=board.create&limit=100',
      { token: adminToken },
    );
    expect(events.status).toBe(200);
    const [event] = events.body.items.filter((e) => e.target_id === created.body.id);
    expect(event).toBeDefined();
    return event.ip ?? 'none recorded';
  }

  /** A public route without a limit of its own: counted per client address (no principal). */
  const publicCall = (name: keyof typeof servers, forwardedFor: string): Promise<Reply<unknown>> =>
    call(server(name), 'GET', '/api/tenants/registration/status', {
      headers: { 'x-forwarded-for': forwardedFor },
    });

  describe('audit events', () => {
    it('without BOARDS_TRUST_PROXY a spoofed X-Forwarded-For is ignored: the connection address is recorded', async () => {
      expect(await auditedIp('none', '203.0.113.9')).toBe('127.0.0.1');
      expect(await auditedIp('none', CHAIN)).toBe('127.0.0.1');
      expect(await auditedIp('none')).toBe('127.0.0.1');
    });

    it('trusting 127.0.0.1, the address the proxy appended is recorded, not one the client forged before it', async () => {
      expect(await auditedIp('loopback', '203.0.113.9')).toBe('203.0.113.9');
      // The client sent "X-Forwarded-For: 198.51.100.1"; the proxy appended the real 203.0.113.9.
      expect(await auditedIp('loopback', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
      expect(await auditedIp('loopback')).toBe('127.0.0.1');
    });

    it('the rightmost untrusted hop: 10.1.2.3 when only 127.0.0.1 is trusted, 6.6.6.6 when 10.0.0.0/8 is too', async () => {
      expect(await auditedIp('loopback', CHAIN)).toBe('10.1.2.3');
      expect(await auditedIp('ingress', CHAIN)).toBe('6.6.6.6');
    });
  });

  describe('per-address rate limits', () => {
    it('without BOARDS_TRUST_PROXY a client rotating X-Forwarded-For values is still limited', async () => {
      const statuses: number[] = [];
      for (let i = 0; i <= PER_ADDRESS + 1; i++) {
        statuses.push((await publicCall('limitedNone', `198.51.100.${i + 1}`)).status);
      }
      expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), 429, 429]);
    });

    it('behind a trusted proxy each forwarded client has its own counter', async () => {
      // Distinct clients behind the proxy: none of them reaches the limit...
      const distinct: number[] = [];
      for (let i = 0; i <= PER_ADDRESS + 1; i++) {
        distinct.push((await publicCall('limitedLoopback', `192.0.2.${i + 1}`)).status);
      }
      expect(distinct).toEqual(Array(PER_ADDRESS + 2).fill(200));
      // ...while one client is limited on its own address, whatever it puts before it.
      const one: number[] = [];
      for (let i = 0; i <= PER_ADDRESS; i++) {
        one.push((await publicCall('limitedLoopback', `10.9.9.${i}, 192.0.2.200`)).status);
      }
      expect(one).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
    });
  });
});
