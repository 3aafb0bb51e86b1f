import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger as NestLogger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type AppOptions } from 'src/app.module';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { HttpExceptionFilter } from 'src/core/errors/http-exception.filter';
import { installClientRateLimit } from 'src/core/rate-limit/client-rate-limit.hook';
import { installLightAsyncResourceBind } from 'src/core/http/async-resource-bind';
import { applyHttpHardening } from 'src/core/http/http-hardening';
import { clientErrorHandler, frameworkErrorHandler } from 'src/core/http/framework-errors';
import { parseJsonBody } from 'src/core/http/json-body.parser';
import { installDirectRoutes } from 'src/core/http/direct-routes';
import { VALIDATION_PIPE_OPTIONS } from 'src/core/http/validation-pipe-options';
import { installGracefulShutdown, runAsClusterPrimary } from 'src/core/http/lifecycle';
import { startupFailure } from 'src/core/database/startup-failure';
import { applyServerV8Flags } from 'src/core/runtime/v8-flags';
import { annotateRequest } from 'src/core/logging/request-log-fields';
import { ShutdownState } from 'src/modules/health/shutdown-state';
import { mountOpenApi } from 'src/openapi';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Routes served outside the /api prefix. */
export const UNPREFIXED_ROUTES = ['health', 'health/live', 'health/ready', 'metrics'];

/** A well-formed incoming X-Request-Id is kept; anything else gets a fresh UUID. */
function requestIdFor(raw: IncomingMessage): string {
  const header = raw.headers['x-request-id'];
  const incoming = Array.isArray(header) ? header[0] : header;
  const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  (raw as IncomingMessage & { id?: string }).id = id;
  return id;
}

/** Builds the application (not listening). Tests and `boards serve` both start here. */
export async function createApp(
  config: BoardsConfig,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  installLightAsyncResourceBind();
  const adapter = new FastifyAdapter({
    bodyLimit: config.api.bodyLimitBytes,
    genReqId: requestIdFor,
    requestIdHeader: false,
    trustProxy: config.api.trustProxy,
    // During shutdown, requests on open keep-alive connections are still served, not 503'd.
    return503OnClosing: false,
    requestTimeout: 30_000,
    // Room for bearer tokens up to 16 KiB plus other headers; the auth guard caps tokens itself.
    http: { maxHeaderSize: 32 * 1024 },
    keepAliveTimeout: 72_000,
    // Errors before routing (a malformed URL, oversized headers) get the documented body too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
      // Until the JSON logger takes over: a failed start is reported once, as one line, by serve()
      // (the module loader's progress lines and its stack trace only with BOARDS_DEBUG).
      logger: config.debug ? undefined : false,
    },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();
  // JSON only (any other body, such as form-encoded or text/plain, is 415): depth, size and
  // encoding checked as it is parsed.
  app.getHttpAdapter().getInstance().removeAllContentTypeParsers();
  app.useBodyParser(
    'application/json',
    { bodyLimit: config.api.bodyLimitBytes },
    (_req, body, done) => {
      try {
        done(null, parseJsonBody(body));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
  app.setGlobalPrefix('api', { exclude: UNPREFIXED_ROUTES });
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(new ValidationPipe(VALIDATION_PIPE_OPTIONS));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    annotateRequest(request.raw, { route: request.routeOptions.url, ip: request.ip });
    done();
  });

  // After the request id hook, so even an early refusal (HTTPS required, a client over its
  // limit) carries X-Request-Id.
  installClientRateLimit(app, config);
  await applyHttpHardening(app, config);

  mountOpenApi(app);
  if (config.api.directRoutes) installDirectRoutes(app);

  await app.init();
  await fastify.ready();
  return app;
}

/**
 * `boards serve`: builds the app and listens on BOARDS_API_HOST:BOARDS_API_PORT, with graceful
 * shutdown; with BOARDS_API_WORKERS > 1 this process only supervises the workers.
 */
export async function serve(config: BoardsConfig): Promise<NestFastifyApplication | undefined> {
  applyServerV8Flags(); // the old generation's growth, no pretenuring (v8-flags.ts)
  if (runAsClusterPrimary(config)) return undefined;
  let app: NestFastifyApplication;
  try {
    app = await createApp(config);
  } catch (err) {
    throw startupFailure(err, config);
  }
  installGracefulShutdown(app, config, app.get(ShutdownState));
  const logger = new NestLogger('Boards');
  for (const warning of config.warnings) logger.warn(warning);
  await app.listen({ port: config.api.port, host: config.api.host });
  logger.log(
    `listening on http://${config.api.host}:${config.api.port} (${config.environment}, ` +
      `${config.usesEmbeddedDatabase ? 'embedded database' : 'PostgreSQL'}, ` +
      `${config.tenancy.multiTenantMode ? 'multi-tenant' : 'single-tenant'})`,
  );
  return app;
}
