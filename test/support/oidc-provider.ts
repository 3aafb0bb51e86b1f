import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { JWK } from 'jose';

/** A client of the test OpenID Provider; `claims` are merged into each of its access tokens. */
export interface OidcTestClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly claims?: Record<string, unknown>;
}

export interface OidcProviderOptions {
  /** Keep the issuer URL across restarts by passing the previous port. */
  readonly port?: number;
  /** Private JWKs (kid, alg, use) of the provider's keystore, published as its JWKS. */
  readonly keys: readonly JWK[];
  readonly signingKid: string;
  readonly signingAlg?: string;
  /** The resource indicator; the token audience unless `audience` is given. */
  readonly resource: string;
  readonly audience?: string;
  readonly clients: readonly OidcTestClient[];
}

export interface OidcStats {
  readonly discovery: number;
  readonly jwks: number;
  readonly token: number;
}

const SCRIPT = join(__dirname, 'oidc-provider.mjs');

/**
 * panva/oidc-provider on 127.0.0.1, in a child process (it is ESM-only; Jest runs CommonJS).
 * Tokens come from its token endpoint by client_credentials with a resource indicator.
 */
export class TestOidcProvider {
  private constructor(
    private readonly child: ChildProcess,
    readonly issuer: string,
    readonly port: number,
    readonly options: OidcProviderOptions,
    private readonly log: () => string,
  ) {}

  static start(options: OidcProviderOptions): Promise<TestOidcProvider> {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, OIDC_TEST_CONFIG: JSON.stringify(options) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the OpenID Provider did not start: ${stderr}`));
      }, 15_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the OpenID Provider exited (${code}): ${stderr}`));
      });
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const newline = stdout.indexOf('\n');
        if (newline < 0) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const { issuer, port } = JSON.parse(stdout.slice(0, newline)) as {
          issuer: string;
          port: number;
        };
        resolve(new TestOidcProvider(child, issuer, port, options, () => stderr));
      });
    });
  }

  /** An access token for `clientId` by client_credentials with the resource indicator. */
  async token(clientId: string): Promise<string> {
    const client = this.options.clients.find((c) => c.client_id === clientId);
    if (!client) throw new Error(`unknown test client ${clientId}`);
    const response = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.client_secret,
        resource: this.options.resource,
        scope: 'api',
      }),
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (!response.ok || !body.access_token) {
      throw new Error(
        `token request failed: ${response.status} ${JSON.stringify(body)} ${this.log()}`,
      );
    }
    return body.access_token;
  }

  async stats(): Promise<OidcStats> {
    const response = await fetch(`${this.issuer}/__test/stats`);
    return (await response.json()) as OidcStats;
  }

  /** Stops the process (the issuer's port goes dark). */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  /** Stops and starts again on the same port (same issuer) with changed options (key rotation). */
  async restart(changes: Partial<OidcProviderOptions>): Promise<TestOidcProvider> {
    await this.stop();
    return TestOidcProvider.start({ ...this.options, ...changes, port: this.port });
  }
}
