// A real OpenID Provider (panva/oidc-provider, ESM-only) for the auth e2e tests, run as a child
// process so Jest never has to load it. Configuration comes as JSON in OIDC_TEST_CONFIG:
//   { port?: number, keys: [private JWK with kid/alg/use], signingKid: string, resource: string,
//     audience?: string, clients: [{ client_id, client_secret, claims?: {...} }] }
// It issues JWT access tokens by the client_credentials grant with a resource indicator; each
// client's `claims` are merged into its tokens (so tests can set sub, email, tenant claims).
// It publishes discovery (/.well-known/openid-configuration) and JWKS (/jwks), and counts the
// requests to both at GET /__test/stats. Prints {"issuer","port"} as one line once listening.
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG ?? '{}');
const counts = { discovery: 0, jwks: 0, token: 0 };
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/__test/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(counts));
    return;
  }
  if (path === '/.well-known/openid-configuration') counts.discovery += 1;
  if (path === '/jwks') counts.jwks += 1;
  if (path === '/token') counts.token += 1;
  handler(req, res);
});
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
const claimsByClient = new Map(
  config.clients.map((client) => [client.client_id, client.claims ?? {}]),
);

const provider = new Provider(issuer, {
  clients: config.clients.map(({ client_id, client_secret }) => ({
    client_id,
    client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: config.signingAlg ?? 'RS256',
  })),
  jwks: { keys: config.keys },
  cookies: { keys: ['oidc-test-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== config.resource) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: config.audience ?? resourceIndicator,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: config.signingAlg ?? 'RS256', kid: config.signingKid } },
        };
      },
    },
  },
  formats: {
    customizers: {
      jwt: (_ctx, token, jwt) => {
        Object.assign(jwt.payload, claimsByClient.get(token.clientId) ?? {});
      },
    },
  },
});
handler = provider.callback();

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
const stop = () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
