import { spawn } from 'node:child_process';
import { ProbeServer, EVENT_LOOP_STALL_MS } from 'src/modules/health/probe-server';
import { getJson, startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * BOARDS_HEALTH_PORT: the probes on a port of their own, answered by a thread of their own. They
 * answer what the API port's probes answer; when the main event loop stops running (a request
 * that blocks it), both fail within a few seconds instead of vouching for a stuck process, and
 * recover once it runs again.
 */

describe('probes on BOARDS_HEALTH_PORT (a thread of their own)', () => {
  let db: TestDatabase;
  let server: RunningApp;
  let probeUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startApp(
      db.config({ BOARDS_HEALTH_PORT: '0', BOARDS_API_HOST: '127.0.0.1' }),
      db.embedded ? { databaseTarget: db.target } : {},
    );
    const port = server.app.get(ProbeServer).port;
    expect(port).toEqual(expect.any(Number));
    probeUrl = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('answers /health/live and /health/ready as the API port does; anything else is 404', async () => {
    const live = await getJson(`${probeUrl}/health/live`);
    expect(live).toMatchObject({ status: 200, body: { status: 'ok' } });
    // The published readiness is at most PROBE_PUBLISH_MS old: both ports agree once it settles.
    const [viaApi, viaProbe] = await Promise.all([
      getJson(`${server.baseUrl}/health/ready`),
      getJson(`${probeUrl}/health/ready`),
    ]);
    expect(viaProbe.status).toBe(viaApi.status);
    expect(viaProbe.body).toEqual(viaApi.body);
    expect(viaProbe.headers.get('cache-control')).toBe('no-store');
    expect((await getJson(`${probeUrl}/api/boards`)).status).toBe(404);
  });

  it('fails both probes while the main event loop is blocked, and recovers after', async () => {
    // Another process polls the probe port while this thread (the server's main thread) spins.
    const poller = spawn(
      process.execPath,
      [
        '-e',
        `const url = process.argv[1];
         const end = Date.now() + ${EVENT_LOOP_STALL_MS + 4_000};
         (async () => {
           console.log('started');
           while (Date.now() < end) {
             const [live, ready] = await Promise.all(['/health/live', '/health/ready'].map((p) =>
               fetch(url + p).then(async (r) => r.status + ' ' + (await r.text()), (e) => 'error ' + e.message)));
             console.log(JSON.stringify({ at: Date.now(), live, ready }));
             await new Promise((r) => setTimeout(r, 100));
           }
         })();`,
        probeUrl,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    const started = new Promise<void>((resolve) => {
      poller.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('started')) resolve();
      });
    });
    const exited = new Promise<void>((resolve) => poller.once('exit', () => resolve()));
    await started;
    const blockedFrom = Date.now();
    while (Date.now() - blockedFrom < EVENT_LOOP_STALL_MS + 1_500) {
      // a request handler that never yields
    }
    const blockedUntil = Date.now();
    await exited;
    const polls = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { at: number; live: string; ready: string });
    const during = polls.filter(
      (poll) => poll.at > blockedFrom + EVENT_LOOP_STALL_MS + 300 && poll.at < blockedUntil,
    );
    expect(during.length).toBeGreaterThan(0);
    for (const poll of during) {
      expect(poll.live).toMatch(/^503 .*event loop has not run/);
      expect(poll.ready).toMatch(/^503 .*event loop has not run/);
    }
    // Before the stall passed the limit, and after the loop ran again, both were 200.
    const early = polls.filter((poll) => poll.at < blockedFrom + EVENT_LOOP_STALL_MS - 500);
    expect(early.length).toBeGreaterThan(0);
    for (const poll of early) expect(poll.live).toMatch(/^200 /);
    const last = polls[polls.length - 1];
    expect(last.at).toBeGreaterThan(blockedUntil + 500);
    expect(last.live).toMatch(/^200 /);
    expect(last.ready).toMatch(/^200 /);
  }, 30_000);
});
