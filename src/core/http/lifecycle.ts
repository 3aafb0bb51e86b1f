import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { rootLogger } from 'src/core/logging/logging.module';

/** Something that turns readiness to 503 (the health module's ShutdownState). */
export interface Drainable {
  startDraining(): void;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness answers 503 at once, the server keeps serving
 * for BOARDS_SHUTDOWN_DRAIN_SECONDS (so load balancers stop sending), then stops accepting,
 * finishes in-flight requests, closes pools and exits 0.
 */
export function installGracefulShutdown(
  app: NestFastifyApplication,
  config: BoardsConfig,
  drainable: Drainable,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const logger = new Logger('Shutdown');
  let started = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    drainable.startDraining();
    const drainMs = config.api.shutdownDrainSeconds * 1000;
    logger.log(
      `${signal}: readiness is now 503; draining for ${config.api.shutdownDrainSeconds} s`,
    );
    setTimeout(() => {
      app
        .close()
        .then(() => {
          logger.log('closed: in-flight requests finished, pools closed');
          exit(0);
        })
        .catch((err: unknown) => {
          logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          exit(1);
        });
    }, drainMs);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/**
 * BOARDS_API_WORKERS=N: the primary process forks N workers that share the port (node:cluster)
 * and replaces a worker that dies; SIGTERM is passed on to every worker, and the primary exits 0
 * once they all have. Returns true in the primary (which does not serve itself).
 */
export function runAsClusterPrimary(config: BoardsConfig): boolean {
  if (config.api.workers <= 1 || !cluster.isPrimary) return false;
  // The primary runs no Nest application, so it logs through the root pino logger directly.
  const logger = rootLogger(config).child({ context: 'Workers' });
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.api.workers; i++) fork();
  logger.info(`started ${config.api.workers} workers`);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.warn(`worker ${worker.process.pid} exited (${signal ?? code}); starting a replacement`);
    setTimeout(() => {
      if (!stopping) fork();
    }, 1_000);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping workers`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return true;
}
