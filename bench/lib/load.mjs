// One autocannon run: a route, a token mix, a duration; returns throughput and latency figures.
import autocannon from 'autocannon';

/**
 * `mix` rotates per request (request i is mix[i % n]: a token and a path), so the load spreads
 * over many users and tenants. With `amount`, exactly that many requests are sent instead of
 * running for `duration` seconds.
 */
export async function measure({ baseUrl, method = 'GET', mix, body, duration, amount, connections }) {
  let i = 0;
  const result = await autocannon({
    url: baseUrl,
    connections,
    ...(amount ? { amount } : { duration }),
    pipelining: 1,
    requests: [
      {
        method,
        setupRequest: (request) => {
          const n = i++;
          const { token, path } = mix[n % mix.length];
          request.path = path;
          request.headers = {
            authorization: `Bearer ${token}`,
            'x-forwarded-proto': 'https',
            ...(body && { 'content-type': 'application/json' }),
          };
          if (body) request.body = typeof body === 'function' ? JSON.stringify(body(n)) : JSON.stringify(body);
          return request;
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}
