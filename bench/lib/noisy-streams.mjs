// The load streams of the noisy-neighbour benchmark (bench/noisy.mjs). Each runs in a child
// process of its own (`node noisy-streams.mjs '<json>'`), so that the victim's latencies are not
// measured through an event loop busy with the attacker's megabyte pages.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

const WORDS = ['aurora', 'basalt', 'cobalt', 'delta', 'ember', 'fjord', 'glacier', 'harbor', 'indigo', 'juniper'];

/** The request generator of a stream: request i of it (method, path, token, address, body). */
export function streamRequests(name, data) {
  const { victimTokens, victimBoards, attackerTokens } = data;
  const attacker = (i) => attackerTokens[i % attackerTokens.length];
  switch (name) {
    case 'victim':
      return (i) => {
        const user = i % victimTokens.length;
        const board = victimBoards[(i * 7) % victimBoards.length];
        return i % 2 === 0
          ? { path: '/api/boards', token: victimTokens[user], address: `10.1.0.${user + 1}` }
          : { path: `/api/boards/${board.id}`, token: victimTokens[board.user], address: `10.1.0.${board.user + 1}` };
      };
    case 'health':
      return () => ({ path: '/health/ready', address: '10.3.0.1' });
    case 'searches':
      // Words that match most of the attacker's boards: each search reads all their text.
      return (i) => ({ path: `/api/boards?q=${WORDS[i % WORDS.length]}${i % 89}`, token: attacker(i), address: `10.2.1.${i % 5}` });
    case 'pages':
      return (i) => ({ path: '/api/boards?limit=100', token: attacker(i), address: `10.2.2.${i % 5}` });
    case 'creates':
      return (i) => ({
        method: 'POST',
        path: '/api/boards',
        token: attacker(i),
        address: `10.2.3.${i % 5}`,
        body: { title: `Spam more ${i}`, description: 'x'.repeat(9_000) },
      });
    case 'floods':
      // Guessed tenants and board ids from one address.
      return (i) =>
        i % 2 === 0
          ? { path: '/api/boards', token: attacker(i), address: "10.2.4.1", headers: { 'x-tenant': `guess-${randomUUID().slice(0, 8)}` } }
          : { path: `/api/boards/${randomUUID()}`, token: attacker(i), address: "10.2.4.1" };
    default:
      throw new Error(`unknown stream ${name}`);
  }
}

/**
 * An autocannon run whose requests rotate over `requests` (method, path, token, address, body).
 * With `rate`, requests are sent at that overall rate (steady load) instead of as fast as possible.
 */
export function run({ baseUrl, requests, connections, duration, rate }) {
  let i = 0;
  const latencies = [];
  const statuses = new Map();
  const instance = autocannon({
    url: baseUrl,
    connections,
    duration,
    ...(rate && { overallRate: rate }),
    pipelining: 1,
    requests: [
      {
        setupRequest: (request) => {
          const { method = 'GET', path, token: bearer, address, body, headers = {} } = requests(i++);
          request.method = method;
          request.path = path;
          request.headers = {
            ...(bearer && { authorization: `Bearer ${bearer}` }),
            'x-forwarded-proto': 'https',
            'x-forwarded-for': address,
            ...headers,
            ...(body && { 'content-type': 'application/json' }),
          };
          request.body = body ? JSON.stringify(body) : undefined;
          return request;
        },
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  return new Promise((resolve, reject) => {
    instance.on('done', (result) => {
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      resolve({
        requests: latencies.length,
        p50: at(0.5),
        p99: at(0.99),
        max: latencies.at(-1) ?? NaN,
        errors: result.errors + result.timeouts,
        statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      });
    });
    instance.on('error', reject);
  });
}


// As a child process: run one stream and print its result as JSON.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { name, data, baseUrl, connections, duration, rate } = JSON.parse(process.argv[2]);
  const result = await run({ baseUrl, requests: streamRequests(name, data), connections, duration, rate });
  process.stdout.write(JSON.stringify(result));
}
