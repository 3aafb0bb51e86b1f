// Starts the project and the baseline as child processes, waits for readiness, reads peak RSS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const DOCKERFILE = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
/** The Node.js options of the production image (`ENV NODE_OPTIONS=` in the Dockerfile). */
export const IMAGE_NODE_OPTIONS = /^\s*NODE_OPTIONS=(\S+)/m.exec(DOCKERFILE)?.[1] ?? '';
/** glibc's malloc arenas in the production image (`ENV MALLOC_ARENA_MAX=`), if it sets them. */
export const IMAGE_MALLOC_ARENA_MAX = /^\s*MALLOC_ARENA_MAX=(\d+)/m.exec(DOCKERFILE)?.[1];

async function waitReady(url, child, timeoutMs) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(url, { headers: { 'x-forwarded-proto': 'https' } });
      await response.arrayBuffer();
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Starts `command` (a Node.js script) with only PATH and `env` as its environment; `ready` waits for /health/ready. */
export function startProcess(command, args, env, port, label, execArgv = []) {
  const child = spawn(process.execPath, [...execArgv, command, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return {
    label,
    child,
    env,
    baseUrl: `http://127.0.0.1:${port}`,
    async ready(timeoutMs = 30_000) {
      try {
        return await waitReady(`http://127.0.0.1:${port}/health/ready`, child, timeoutMs);
      } catch (err) {
        throw new Error(`${label}: ${err.message}\n${stderr}`);
      }
    },
    peakRssMb: () => peakRssMb(child.pid),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The project in production mode: JWT HS256, multi-tenant, logs at info to /dev/null, with the
 * Node.js options of the production image (`nodeOptions`, read from the Dockerfile by run.mjs).
 */
export function startProject({ cliPath, db, port, poolSize, secret, nodeOptions = '', extraEnv = {}, execArgv = [] }) {
  return startProcess(
    cliPath,
    ['serve'],
    {
      NODE_OPTIONS: nodeOptions,
      ...(IMAGE_MALLOC_ARENA_MAX && { MALLOC_ARENA_MAX: IMAGE_MALLOC_ARENA_MAX }),
      BOARDS_ENVIRONMENT: 'production',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: secret,
      // Production needs a metrics token or this; the benchmark does not scrape /metrics.
      BOARDS_METRICS_PUBLIC: 'true',
      // The load generator stands in for the TLS-terminating proxy (X-Forwarded-Proto: https).
      BOARDS_TRUST_PROXY: '127.0.0.1',
      BOARDS_MULTI_TENANT_MODE: 'true',
      BOARDS_DATABASE_URL: db.runtimeUrl,
      BOARDS_DATABASE_OWNER_URL: db.ownerUrl,
      BOARDS_DATABASE_RUNTIME_ROLE: db.runtimeRole,
      BOARDS_DATABASE_POOL_SIZE: String(poolSize),
      BOARDS_DATABASE_AUTO_MIGRATE: 'false',
      BOARDS_API_HOST: '127.0.0.1',
      BOARDS_API_PORT: String(port),
      BOARDS_LOG_LEVEL: 'info',
      BOARDS_SHUTDOWN_DRAIN_SECONDS: '0',
      // The limiter stays on the request path, with limits no benchmark reaches.
      BOARDS_RATE_LIMIT_PER_USER_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_PER_TENANT_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE: '10000000',
      BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE: '10000000',
      ...extraEnv,
    },
    port,
    'project',
    execArgv,
  );
}

export function startBaseline({ db, port, poolSize, secret, serverPath }) {
  return startProcess(serverPath, [], { PORT: String(port), DATABASE_URL: db.runtimeUrl, POOL_SIZE: String(poolSize), JWT_SECRET: secret }, port, 'baseline');
}

/**
 * The bare limit (bench/limit/server.mjs): one round trip per read and per write. `audit` mirrors
 * the project's BOARDS_ENABLE_AUDIT_LOGGING, so that its POST writes the same rows.
 */
export function startLimit({ db, port, poolSize, secret, serverPath, audit = false }) {
  return startProcess(
    serverPath,
    [],
    { PORT: String(port), DATABASE_URL: db.runtimeUrl, POOL_SIZE: String(poolSize), JWT_SECRET: secret, AUDIT: String(audit) },
    port,
    'limit',
  );
}
