import { Worker } from 'node:worker_threads';
import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { BoardsConfig } from 'src/core/config/boards-config';
import { ReadinessAnswer } from './readiness-answer';

/** How often the main thread publishes its heartbeat and readiness to the probe thread. */
export const PROBE_PUBLISH_MS = 200;
/** A main event loop that has not run for this long fails both probes on the probe port. */
export const EVENT_LOOP_STALL_MS = 3_000;

/**
 * The probe thread (plain JavaScript, run with `eval` so it needs no file of its own): an HTTP
 * server answering GET /health/live and /health/ready from what the main thread published last,
 * and 503 for both when the main thread's heartbeat is older than `stallMs`.
 */
const PROBE_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const heartbeat = new BigInt64Array(workerData.heartbeat);
const json = (value) => JSON.stringify(value);
let ready = { status: 503, body: json({ status: 'error', info: {}, error: { checks: { status: 'down', message: 'the readiness checks have not completed yet' } }, details: {} }) };
parentPort.on('message', (message) => { ready = message; });
function answer(method, path) {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: json({ error: 'Method Not Allowed', status: 405 }) };
  const silentMs = Date.now() - Number(Atomics.load(heartbeat, 0));
  const stalled = silentMs > workerData.stallMs;
  if (path === '/health/live') {
    return stalled
      ? { status: 503, body: json({ status: 'error', message: 'the event loop has not run for ' + silentMs + ' ms' }) }
      : { status: 200, body: json({ status: 'ok' }) };
  }
  if (path === '/health/ready') {
    return stalled
      ? { status: 503, body: json({ status: 'error', info: {}, error: { event_loop: { status: 'down', message: 'the event loop has not run for ' + silentMs + ' ms' } }, details: {} }) }
      : ready;
  }
  return { status: 404, body: json({ error: 'Not Found', status: 404 }) };
}
const server = http.createServer((request, response) => {
  const { status, body } = answer(request.method, (request.url || '').split('?')[0]);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(request.method === 'HEAD' ? undefined : body);
});
server.on('error', (error) => parentPort.postMessage({ error: error.message }));
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ listening: server.address().port }));
`;

/**
 * BOARDS_HEALTH_PORT: the Kubernetes probes on a port of their own, answered by a thread of their
 * own. Under load the API's event loop is busy with requests, and a probe on the API port waits
 * its turn among them; on the probe port it does not. The main thread publishes a heartbeat and
 * the readiness answer (ReadinessAnswer, the same as the API port's) every PROBE_PUBLISH_MS; a
 * main loop silent for EVENT_LOOP_STALL_MS makes both probes fail, so the separate thread cannot
 * vouch for a process whose requests are stuck. CLI commands (no HTTP server) start no thread.
 */
@Injectable()
export class ProbeServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ProbeServer');
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat = new BigInt64Array(new SharedArrayBuffer(8));
  private published = '';
  /** The port the probe thread listens on (BOARDS_HEALTH_PORT 0: a free one). */
  port: number | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: BoardsConfig,
    private readonly readiness: ReadinessAnswer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.api.healthPort;
    if (port === undefined || !this.adapterHost.httpAdapter) return;
    this.beat();
    const worker = new Worker(PROBE_THREAD, {
      eval: true,
      workerData: {
        heartbeat: this.heartbeat.buffer,
        port,
        host: this.config.api.host,
        stallMs: EVENT_LOOP_STALL_MS,
      },
    });
    this.worker = worker;
    this.port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (message: { listening?: number; error?: string }) => {
        if (message.listening !== undefined) resolve(message.listening);
        else reject(new Error(`BOARDS_HEALTH_PORT ${port}: ${message.error ?? 'not listening'}`));
      });
      worker.once('error', reject);
    });
    worker.unref();
    this.timer = setInterval(() => void this.publish(), PROBE_PUBLISH_MS);
    this.timer.unref();
    await this.publish();
    this.logger.log(`probes also on port ${this.port} (a thread of their own)`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private beat(): void {
    Atomics.store(this.heartbeat, 0, BigInt(Date.now()));
  }

  /** The heartbeat, and the readiness answer when it changed. */
  private async publish(): Promise<void> {
    this.beat();
    try {
      const { status, body } = await this.readiness.current();
      const message = { status, body: JSON.stringify(body) };
      const text = `${status} ${message.body}`;
      if (text === this.published) return;
      this.published = text;
      this.worker?.postMessage(message);
    } catch (err) {
      this.logger.debug(`readiness not published: ${(err as Error).message}`);
    }
  }
}
