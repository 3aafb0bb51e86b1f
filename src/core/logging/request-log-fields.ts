/**
 * Fields that the request log line carries (tenant_slug, user_id), attached to the raw Node
 * request by the tenant context as soon as they are known. The log line is written when the
 * response finishes, outside the request's async context, so it reads them from the request.
 */
const LOG_FIELDS = Symbol('boards.logFields');

export interface RequestLogFields {
  route?: string;
  /** Client address as Fastify sees it (X-Forwarded-For honoured behind a trusted proxy). */
  ip?: string;
  tenant_slug?: string;
  user_id?: string;
}

type Annotated = { [LOG_FIELDS]?: RequestLogFields };

export function annotateRequest(request: object, fields: RequestLogFields): void {
  const target = request as Annotated;
  target[LOG_FIELDS] = { ...target[LOG_FIELDS], ...fields };
}

export function requestLogFields(request: object): RequestLogFields {
  return (request as Annotated)[LOG_FIELDS] ?? {};
}
