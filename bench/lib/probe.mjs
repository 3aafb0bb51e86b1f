// A readiness probe at a steady rate, from a worker thread (its own event loop, so the load
// generator's work in the main thread does not add to the latencies it reads), timed with
// process.hrtime to the microsecond over one keep-alive connection.
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * GET `url` every 1000/rate ms for `duration` seconds (one at a time: a late answer delays the
 * next probe, as a real prober's would not, but never overlaps it). Resolves to p50, p99 and max
 * in ms, the number of probes and how many were not 200.
 */
export function probe({ url, duration, rate = 20 }) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { url, duration, rate } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`probe worker exited with ${code}`)));
  });
}

async function run({ url, duration, rate }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const request = http.get(url, { agent, headers: { 'x-forwarded-proto': 'https' } }, (response) => {
        response.resume();
        response.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, ok: response.statusCode === 200 }));
      });
      request.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, ok: false }));
    });
  const interval = 1000 / rate;
  const end = Date.now() + duration * 1000;
  const latencies = [];
  let failed = 0;
  let next = Date.now();
  while (Date.now() < end) {
    const { ms, ok } = await get();
    latencies.push(ms);
    if (!ok) failed++;
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = Date.now();
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN, count: latencies.length, failed };
}

if (!isMainThread && workerData?.url) parentPort.postMessage(await run(workerData));
