import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { errorBody } from 'src/core/errors/http-exception.filter';
import { RedisConnection } from 'src/core/redis/redis.module';
import { ClientRateLimiter } from './client-rate-limiter';

const MINUTE_MS = 60_000;
/**
 * Outcomes that cost the client a refusal: 401, 403 and 404 (a flood of them is someone probing,
 * not using) and 429 from the limits after authentication (a client that keeps on after being told
 * to wait is then held back here, where a refusal costs least).
 */
const REFUSALS = new Set([401, 403, 404, 429]);
/** Marks a reply this hook refused, which does not count again. */
const REFUSED_HERE = Symbol('refused before authentication');
/** Probes and scrapes are answered whatever a client address sends (a kubelet shares its node's). */
const EXEMPT = /^\/(health(\/|$|\?)|metrics(\?|$))/;

/**
 * The limit before authentication and tenant resolution (DESIGN.md §5 "Fairness"): per client
 * address (request.ip, which believes X-Forwarded-For only from BOARDS_TRUST_PROXY), every request
 * counts against BOARDS_RATE_LIMIT_PER_CLIENT_PER_MINUTE and every 401, 403, 404 or later 429
 * also against BOARDS_RATE_LIMIT_REFUSALS_PER_CLIENT_PER_MINUTE. Over either, the request is answered 429 in
 * Fastify's onRequest hook, before any token is verified or any tenant looked up, so a flood costs
 * a map lookup, not a transaction. Counts are in memory and shared through Redis when configured
 * (ClientRateLimiter). The per-user and per-tenant limits after authentication stay as they are.
 */
export function installClientRateLimit(app: NestFastifyApplication, config: BoardsConfig): void {
  if (!config.rateLimits.enabled) return;
  const redis = app.get(RedisConnection).client;
  const shared = redis ? { client: redis, prefix: config.redisKeyPrefix } : undefined;
  const requests = new ClientRateLimiter(
    config.rateLimits.perClientPerMinute,
    MINUTE_MS,
    shared && { ...shared, prefix: `${shared.prefix}:requests` },
  );
  const refusals = new ClientRateLimiter(
    config.rateLimits.refusalsPerClientPerMinute,
    MINUTE_MS,
    shared && { ...shared, prefix: `${shared.prefix}:refusals` },
  );
  const fastify = app.getHttpAdapter().getInstance();

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (EXEMPT.test(request.url)) return done();
    const overall = requests.hit(request.ip);
    const refused = refusals.check(request.ip);
    const verdict = !overall.allowed ? overall : !refused.allowed ? refused : undefined;
    if (!verdict) return done();
    (reply as unknown as Record<symbol, boolean>)[REFUSED_HERE] = true;
    void reply
      .code(429)
      .header('retry-after', String(verdict.retryAfterSeconds))
      .header('content-type', 'application/json; charset=utf-8')
      .send(
        errorBody(
          429,
          'client_rate_limited',
          `Too many requests from your address; retry in ${verdict.retryAfterSeconds} s.`,
          String(request.id),
        ),
      );
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (
      REFUSALS.has(reply.statusCode) &&
      !(reply as unknown as Record<symbol, boolean>)[REFUSED_HERE] &&
      !EXEMPT.test(request.url)
    ) {
      refusals.hit(request.ip);
    }
    done();
  });
  fastify.addHook('onClose', (_instance, done) => {
    requests.stop();
    refusals.stop();
    done();
  });
}
