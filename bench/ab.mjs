// Two builds side by side (issue 20): `node bench/ab.mjs --other <checkout>/dist/src/cli.js
// [--route list|get|post] [--rounds 3]`. Seeds 20 tenants × 200 boards, starts this build, the
// other one and the bare limit on the same data, then loads them in alternate rounds (5 s, 20
// connections) and prints each one's throughput, its ratio to the limit, its p99 and the server's
// CPU per request (user + system, from /proc), which drifts less between rounds than throughput.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDatabase, migrate, requestMix, seed } from './lib/database.mjs';
import { measure } from './lib/load.mjs';
import { IMAGE_NODE_OPTIONS, startLimit, startProject } from './lib/servers.mjs';
import { BENCH_SECRET } from './lib/tokens.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    other: { type: 'string' },
    route: { type: 'string', default: 'list' },
    rounds: { type: 'string', default: '3' },
    // `--other-node-arg=--single-threaded-gc` (repeatable): Node.js options for the other build
    // only (without --other, the other build is this one: the same code, other options).
    'other-node-arg': { type: 'string', multiple: true, default: [] },
    // `--other-env BOARDS_X=1` (repeatable): environment variables for the other build only.
    'other-env': { type: 'string', multiple: true, default: [] },
  },
});
const log = (message) => process.stderr.write(`${message}\n`);
const cliPath = join(here, '..', 'dist/src/cli.js');
const otherArgs = args['other-node-arg'];
const otherEnv = Object.fromEntries(args['other-env'].map((pair) => pair.split(/=(.*)/s, 2)));
const otherLabel = [...otherArgs, ...args['other-env']].join(' ');
const builds = [
  ['this build', cliPath, [], {}],
  ...(args.other || otherLabel
    ? [
        [
          `other build${otherLabel ? ` (${otherLabel})` : ''}`,
          resolve(args.other ?? cliPath),
          otherArgs,
          otherEnv,
        ],
      ]
    : []),
];
if (!['list', 'get', 'post'].includes(args.route))
  throw new Error(`unknown --route ${args.route} (list, get or post)`);

/** User + system CPU of a process so far, in µs (clock ticks of 10 ms). */
function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** User + system CPU of every PostgreSQL process (the server's backends do the queries), in µs. */
function postgresCpuUs() {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) total += cpuUs(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
/** This process's CPU (the load generator), in µs. */
const selfCpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const db = await createDatabase('bench_ab');
const servers = [];
try {
  migrate(db, cliPath);
  await seed(db, { tenants: 20, users: 20, boards: 200, members: 5 }, () => undefined);
  const users = await requestMix(db, BENCH_SECRET);
  const mix = users.map((u) => ({
    token: u.token,
    path: args.route === 'get' ? `/api/boards/${u.boardId}` : '/api/boards',
  }));
  const load =
    args.route === 'post'
      ? { method: 'POST', body: (n) => ({ title: `A/B board ${n}`, description: 'x' }) }
      : {};
  let port = 8991;
  for (const [label, cli, execArgv, extraEnv] of builds) {
    servers.push({
      label,
      server: startProject({
        cliPath: cli,
        db,
        port: port++,
        poolSize: 10,
        secret: BENCH_SECRET,
        nodeOptions: IMAGE_NODE_OPTIONS,
        execArgv,
        extraEnv,
      }),
      rounds: [],
    });
  }
  servers.push({
    label: 'limit',
    server: startLimit({
      db,
      port: port++,
      poolSize: 10,
      secret: BENCH_SECRET,
      serverPath: join(here, 'limit/server.mjs'),
    }),
    rounds: [],
  });
  for (const { server } of servers) {
    await server.ready(60_000);
    await measure({ baseUrl: server.baseUrl, mix, connections: 20, amount: mix.length });
    await measure({ baseUrl: server.baseUrl, mix, connections: 20, duration: 3, ...load });
  }
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const { label, server, rounds } of servers) {
      const before = [cpuUs(server.child.pid), postgresCpuUs(), selfCpuUs()];
      const result = await measure({
        baseUrl: server.baseUrl,
        mix,
        connections: 20,
        duration: 5,
        ...load,
      });
      const [cpu, pg, loader] = [cpuUs(server.child.pid), postgresCpuUs(), selfCpuUs()].map(
        (now, i) => (now - before[i]) / result.total,
      );
      rounds.push({ rps: result.rps, p99: result.p99, cpu, pg, loader });
      log(`round ${round}: ${label} ${result.rps.toFixed(0)} req/s`);
    }
  }
  const mean = (rounds, key) => rounds.reduce((sum, r) => sum + r[key], 0) / rounds.length;
  const limit = servers.at(-1).rounds;
  console.log(
    `| ${args.route} | req/s | vs limit | p99 ms | µs CPU per request (each round) | PostgreSQL µs per request | load generator µs per request |\n|---|---|---|---|---|---|---|`,
  );
  for (const { label, rounds } of servers) {
    console.log(
      `| ${label} | ${mean(rounds, 'rps').toFixed(0)} | ${(mean(rounds, 'rps') / mean(limit, 'rps')).toFixed(2)} | ${mean(rounds, 'p99').toFixed(1)} | ${rounds.map((r) => r.cpu.toFixed(0)).join(', ')} | ${mean(rounds, 'pg').toFixed(0)} | ${mean(rounds, 'loader').toFixed(0)} |`,
    );
  }
} finally {
  for (const { server } of servers) await server.stop();
  await db.drop();
}
