/**
 * A small, untyped HTTP client for the boards e2e suites: one `fetch` per call, the body parsed
 * when it is JSON, and the raw text kept for marker scans. The typed client generated from the
 * OpenAPI document lives beside it (sdk-generator.ts).
 */

export interface ApiCall {
  readonly method: string;
  /** Path with query string, e.g. `/api/boards?limit=5`. */
  readonly path: string;
  /** Bearer token; none sends no Authorization header. */
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as is, with Content-Type application/json (for malformed bodies). */
  readonly rawBody?: string;
}

export interface ApiResult<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

export type Api = <T = Record<string, unknown>>(call: ApiCall) => Promise<ApiResult<T>>;

/** A client for a server at `baseUrl`. */
export function apiClient(baseUrl: string): Api {
  return async <T>(call: ApiCall): Promise<ApiResult<T>> => {
    const headers: Record<string, string> = { ...call.headers };
    if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
    let payload: string | undefined;
    if (call.rawBody !== undefined) payload = call.rawBody;
    else if (call.body !== undefined) payload = JSON.stringify(call.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}${call.path}`, {
      method: call.method,
      headers,
      body: payload,
    });
    const text = await response.text();
    let body: unknown = text;
    if (text.length > 0 && (response.headers.get('content-type') ?? '').includes('json')) {
      body = JSON.parse(text);
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  };
}

/** Everything a response shows: status, every header and the body text (for marker scans). */
export function responseText(result: ApiResult): string {
  const headers = [...result.headers.entries()].map(([name, value]) => `${name}: ${value}`);
  return `${result.status}\n${headers.join('\n')}\n\n${result.text}`;
}

/** The caller's user id, tenant id and tenant role (provisions the user on first use). */
export async function whoAmI(
  api: Api,
  token: string,
): Promise<{ userId: string; tenantId: string; tenantRole: string }> {
  const me = await api<{ user: { id: string; tenant_role: string }; tenant: { id: string } }>({
    method: 'GET',
    path: '/api/auth/me',
    token,
  });
  if (me.status !== 200) throw new Error(`GET /api/auth/me: ${me.status} ${me.text}`);
  return {
    userId: me.body.user.id,
    tenantId: me.body.tenant.id,
    tenantRole: me.body.user.tenant_role,
  };
}
