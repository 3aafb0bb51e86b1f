import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { BoardsConfig } from 'src/core/config/boards-config';
import { requestLogFields } from './request-log-fields';

type RawRequest = IncomingMessage & { id?: string };

/** Paths of headers and fields never written to a log. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.password',
  '*.secret',
  '*.client_secret',
];

/** The process's pino logger: JSON to stdout, written asynchronously, secrets redacted. */
export function createRootLogger(config: BoardsConfig): pino.Logger {
  return pino(
    {
      level: config.observability.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'boards-api' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * pino through nestjs-pino: application logs and one JSON line per request with request_id,
 * tenant_slug, user_id, method, route, status and response_time. Written asynchronously so the
 * request path never waits on stdout.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [BoardsConfig],
      useFactory: (config: BoardsConfig) => ({
        // Probes arrive every few seconds from every kubelet; they are not worth a line each.
        exclude: [
          { method: RequestMethod.GET, path: 'health/live' },
          { method: RequestMethod.GET, path: 'health/ready' },
        ],
        pinoHttp: {
          level: config.observability.logLevel,
          logger: createRootLogger(config),
          genReqId: (req: IncomingMessage) => (req as RawRequest).id ?? '',
          customAttributeKeys: { reqId: 'request_id', responseTime: 'response_time' },
          quietReqLogger: true,
          // The request line carries flat fields (below), not pino-http's req/res objects.
          serializers: { req: () => undefined, res: () => undefined },
          // Called when the request starts and again when it ends; only the end knows everything.
          customProps: (req: IncomingMessage, res: ServerResponse) =>
            res.writableFinished
              ? { ...requestLogFields(req), method: req.method, status: res.statusCode }
              : {},
          customSuccessMessage: () => 'request completed',
          customErrorMessage: () => 'request failed',
          autoLogging: {
            ignore: (req: IncomingMessage) =>
              req.url === '/health/live' || req.url === '/health/ready',
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
