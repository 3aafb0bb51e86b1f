import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/**
 * Small HTTP servers for the auth tests, on 127.0.0.1 with a free port: a JWKS endpoint whose
 * availability the test controls and whose requests it counts, and a listener that records every
 * request (for tokens whose jku/x5u point at it: it must stay silent).
 */
export interface RecordingServer {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** Answers 200 `{}`-ish to anything and records `METHOD url` of each request. */
export async function startRecordingServer(body: unknown = { keys: [] }): Promise<RecordingServer> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  const url = await listen(server);
  return { url, requests, close: closer(server) };
}

export type JwksMode = 'up' | 'error' | 'hang';

export interface JwksServer {
  /** The JWKS URL (`<base>/jwks.json`). */
  readonly url: string;
  /** Requests received so far, whatever the mode. */
  readonly hits: number;
  keys: JWK[];
  /** `up`: 200 with `keys`; `error`: 503; `hang`: never answers. */
  mode: JwksMode;
  /** Stops listening (connection refused from now on). */
  stop(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { hits: 0, keys, mode: 'up' as JwksMode };
  const server = createServer((_req, res) => {
    state.hits += 1;
    if (state.mode === 'hang') return;
    if (state.mode === 'error') {
      res.statusCode = 503;
      res.end('down');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: state.keys }));
  });
  const base = await listen(server);
  const stop = closer(server);
  return {
    url: `${base}/jwks.json`,
    get hits() {
      return state.hits;
    },
    get keys() {
      return state.keys;
    },
    set keys(value: JWK[]) {
      state.keys = value;
    },
    get mode() {
      return state.mode;
    },
    set mode(value: JwksMode) {
      state.mode = value;
    },
    stop,
  };
}
