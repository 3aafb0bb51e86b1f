import secureJson from 'secure-json-parse';
import { DomainError } from 'src/core/errors/domain-error';
import type { ApiErrorCodeFor } from 'src/core/errors/error-catalog';
import { ErrorCode } from 'src/core/errors/error-code';

/** Deeper nesting than this is refused before parsing (no DTO of this API nests deeper than 4). */
export const MAX_JSON_DEPTH = 32;
/** More members (object keys and array items) than this in one body is refused before parsing. */
export const MAX_JSON_MEMBERS = 20_000;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A client mistake in the body, answered 400 with the documented error body. It reaches the
 * global filter as it is; `statusCode` is what Fastify itself would read.
 */
export class InvalidBodyError extends DomainError<ErrorCode.BadRequest> {
  readonly statusCode = 400;

  constructor(apiCode: ApiErrorCodeFor<ErrorCode.BadRequest>, detail: string) {
    super(ErrorCode.BadRequest, apiCode, detail);
    this.name = 'InvalidBodyError';
  }
}

/**
 * The JSON body parser, applied when the body is read and before any validation or
 * transformation runs:
 * - invalid UTF-8 is refused (not replaced by U+FFFD and stored);
 * - nesting deeper than MAX_JSON_DEPTH, or more than MAX_JSON_MEMBERS members, is refused by a
 *   linear scan of the text, so no recursive step later (validation, class-transformer) can
 *   overflow the stack or spend seconds of CPU on a hostile body;
 * - `__proto__` and `constructor.prototype` keys are refused (secure-json-parse, as Fastify's own
 *   parser does).
 */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new InvalidBodyError('invalid_utf8', 'The request body is not valid UTF-8.');
  }
  checkShape(text);
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    }) as unknown;
  } catch (err) {
    if (err instanceof SyntaxError && /prototype/i.test(err.message)) {
      throw new InvalidBodyError(
        'json_forbidden_key',
        'The request body must not set __proto__ or constructor.prototype.',
      );
    }
    throw text.trim() === ''
      ? new InvalidBodyError('empty_json_body', 'The request body is empty but declared as JSON.')
      : new InvalidBodyError('malformed_json', 'The request body is not valid JSON.');
  }
  checkValues(value);
  return value;
}

/** A UTF-16 surrogate without its pair: what a `\ud800` escape alone decodes to. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses what JSON.parse accepts but cannot be stored as sent: strings and keys with a lone
 * surrogate (`"\ud800"`; PostgreSQL would store U+FFFD or refuse the text), and numbers too large
 * for a double (`1e400` parses to Infinity, which JSON and jsonb keep as null). The shape is
 * already bounded by checkShape, so this walk is too.
 */
function checkValues(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) {
        throw new InvalidBodyError(
          'json_unpaired_surrogate',
          'The request body has a string with an unpaired UTF-16 surrogate escape (such as \\ud800).',
        );
      }
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new InvalidBodyError(
          'json_number_too_large',
          'The request body has a number too large to represent.',
        );
      }
    } else if (Array.isArray(value)) {
      pending.push(...(value as unknown[]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, member] of Object.entries(value)) {
        pending.push(key, member);
      }
    }
  }
}

/** Depth and member count of a JSON text, outside strings; throws InvalidBodyError past a limit. */
function checkShape(text: string): void {
  let depth = 0;
  let members = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i++;
      else if (char === 0x22 /* " */) inString = false;
      continue;
    }
    switch (char) {
      case 0x22:
        inString = true;
        break;
      case 0x7b: // {
      case 0x5b: // [
        if (++depth > MAX_JSON_DEPTH) {
          throw new InvalidBodyError(
            'json_too_deep',
            `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
          );
        }
        members++;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        break;
      case 0x2c: // ,
        if (++members > MAX_JSON_MEMBERS) {
          throw new InvalidBodyError(
            'json_too_many_members',
            `The request body has more than ${MAX_JSON_MEMBERS} members (object keys and array items).`,
          );
        }
        break;
    }
  }
}
