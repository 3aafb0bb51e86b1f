import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { BoardsConfig } from 'src/core/config/boards-config';
import { requestLogFields } from './request-log-fields';

/** Paths of fields never written to a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.password',
  '*.secret',
  '*.client_secret',
];

/** Log output is written once this much has gathered, */
export const LOG_WRITE_BYTES = 4096;
/** or this long after the last write, whichever comes first. */
export const LOG_FLUSH_MS = 250;

/** Probes arrive every few seconds from every kubelet; they are not worth a line each. */
const UNLOGGED_ROUTES = new Set(['/health/live', '/health/ready']);

/** The second isoTime last formatted, and its ISO text up to the milliseconds. */
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * pino's `,"time":"<ISO 8601>"` field, as pino.stdTimeFunctions.isoTime writes it, without a Date
 * and its toISOString per line: the text up to the second is formatted once per second.
 */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

interface Loggers {
  readonly root: pino.Logger;
  readonly requests: pino.Logger;
}

const loggers = new WeakMap<BoardsConfig, Loggers>();

function loggersFor(config: BoardsConfig): Loggers {
  let pair = loggers.get(config);
  if (!pair) {
    // Lines are gathered up to 4 kB (or 250 ms) per write: one write per line went through
    // libuv's thread pool for each request. pino writes what is left when the process exits.
    const destination = pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_WRITE_BYTES,
      periodicFlush: LOG_FLUSH_MS,
    });
    const options: pino.LoggerOptions = {
      level: config.observability.logLevel,
      base: { service: 'boards-api' },
      timestamp: isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    };
    pair = {
      root: pino(
        { ...options, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
        destination,
      ),
      // Request lines are built field by field below and carry no secret, so they skip the
      // redaction pass (which copies every logged object) and share the destination.
      requests: pino(options, destination),
    };
    loggers.set(config, pair);
  }
  return pair;
}

/**
 * The process's pino logger: JSON to stdout, written asynchronously (at most 250 ms late), secrets
 * redacted.
 */
export function rootLogger(config: BoardsConfig): pino.Logger {
  return loggersFor(config).root;
}

/**
 * One JSON line per request, written when the response is done: request_id, tenant_slug,
 * user_id, method, route (the template, never the raw URL), status, response_time (ms), ip.
 * A Fastify hook on the root logger: no middleware and no child logger per request.
 */
@Injectable()
export class RequestLogHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: BoardsConfig,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (CLI commands).
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    const logger = loggersFor(this.config).requests;
    fastify?.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (!route || !UNLOGGED_ROUTES.has(route)) {
        const line = {
          request_id: request.id,
          ...requestLogFields(request.raw),
          method: request.method,
          status: reply.statusCode,
          response_time: Math.round(reply.elapsedTime * 10) / 10,
        };
        if (reply.statusCode >= 500) logger.error(line, 'request failed');
        else logger.info(line, 'request completed');
      }
      done();
    });
  }
}

/**
 * pino for everything: nestjs-pino carries the application's logs (Nest's Logger) to the root
 * logger; RequestLogHook writes the request lines. Output is asynchronous, so the request path
 * never waits on stdout.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [BoardsConfig],
      useFactory: (config: BoardsConfig) => ({
        pinoHttp: { logger: rootLogger(config), autoLogging: false, quietReqLogger: true },
        // Request lines come from RequestLogHook; nestjs-pino's per-request middleware stays off.
        forRoutes: [],
      }),
    }),
  ],
  providers: [RequestLogHook],
})
export class LoggingModule {}
