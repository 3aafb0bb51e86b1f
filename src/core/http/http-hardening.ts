import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { toErrorResponse } from 'src/core/errors/http-exception.filter';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** Paths the Kubernetes kubelet and Prometheus reach over plain HTTP inside the cluster. */
const PLAIN_HTTP_ALLOWED = /^\/(health(\/live|\/ready)?|metrics)(\?|$)/;
const DOCS = /^\/api\/docs(\/|$)/;
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Security headers (helmet), a strict CSP on API responses (the docs UI keeps helmet's default),
 * `Cache-Control: no-store` on API responses, CORS from BOARDS_CORS_ORIGINS, and refusal of
 * plain-HTTP API requests when BOARDS_REQUIRE_HTTPS is on (X-Forwarded-Proto behind a proxy).
 */
export async function applyHttpHardening(
  app: NestFastifyApplication,
  config: BoardsConfig,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const securityHeaders = helmetHeaders({
    contentSecurityPolicy: false,
    hsts: config.api.requireHttps ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(securityHeaders);
    done();
  });

  const origins = config.api.corsOrigins;
  if (origins.length > 0) {
    const wildcard = origins.includes('*');
    app.enableCors({
      origin: wildcard ? '*' : [...origins],
      credentials: !wildcard,
      methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: [
        'Authorization',
        'Content-Type',
        'Idempotency-Key',
        'If-Match',
        'X-Tenant',
        'X-Request-Id',
      ],
      exposedHeaders: [
        'ETag',
        'Location',
        'X-Request-Id',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'Retry-After',
      ],
      maxAge: 600,
    });
  }

  if (config.api.requireHttps) {
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.protocol === 'https' || PLAIN_HTTP_ALLOWED.test(request.url)) return done();
      const { body } = toErrorResponse(
        new DomainError(
          ErrorCode.Forbidden,
          'https_required',
          'HTTPS is required; send the request over https://.',
        ),
        String(request.id),
      );
      void reply.status(403).send(body);
    });
  }
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (request.url.startsWith('/api') && !DOCS.test(request.url)) {
      void reply.header('cache-control', 'no-store');
      void reply.header('content-security-policy', API_CSP);
    }
    done(null, payload);
  });
}

/**
 * helmet's headers, computed once: with these options (no CSP, which is set per response below)
 * they are the same on every response, so running helmet's middleware chain per request would
 * only recompute them.
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    finished = true;
  });
  if (!finished) throw new Error('helmet did not finish synchronously');
  return headers;
}
