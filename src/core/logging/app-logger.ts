import { ConsoleLogger, type LogLevel as NestLogLevel } from '@nestjs/common';
import type { BoardsConfig, LogLevel } from 'src/core/config/boards-config';

const ORDER: readonly NestLogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const THRESHOLD: Record<LogLevel, number> = {
  silent: -1,
  fatal: 0,
  error: 1,
  warn: 2,
  info: 3,
  debug: 4,
  trace: 5,
};

/** Nest's logger at BOARDS_LOG_LEVEL: JSON lines outside development, readable text in it. */
export function createAppLogger(config: BoardsConfig): ConsoleLogger | false {
  const threshold = THRESHOLD[config.observability.logLevel];
  if (threshold < 0) return false;
  return new ConsoleLogger({
    logLevels: ORDER.slice(0, threshold + 1),
    json: config.environment !== 'development',
    colors: config.environment === 'development' && Boolean(process.stdout.isTTY),
  });
}
