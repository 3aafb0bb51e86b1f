import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** A keyset position: the sort value of the last row returned and its id (the tie-breaker). */
export interface CursorPosition {
  readonly value: string;
  readonly id: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The form Date.prototype.toISOString() writes, which PostgreSQL reads back exactly. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An instant PostgreSQL accepts back exactly: the toISOString() form, a real calendar date (not
 * 2024-02-30, which Date would roll over into March), and a year from 1 (PostgreSQL has no year 0).
 */
export function isStorableInstant(value: string): boolean {
  if (!ISO_INSTANT.test(value) || value.startsWith('0000')) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.value, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor from a client; anything malformed is a 400, never a 500. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      typeof decoded[0] === 'string' &&
      typeof decoded[1] === 'string' &&
      UUID.test(decoded[1]) &&
      isStorableInstant(decoded[0])
    ) {
      return { value: decoded[0], id: decoded[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new DomainError(
    ErrorCode.BadRequest,
    'invalid_cursor',
    'The cursor is not valid; use next_cursor from a previous page.',
  );
}

/** A page's byte budget: the stored size of each row, and the most a page carries. */
export interface PageBudget<Row> {
  readonly bytesOf: (row: Row) => number;
  readonly maxBytes: number;
  /** Told the stored bytes of the rows the page carries. */
  readonly spent?: (bytes: number) => void;
}

/**
 * Builds a page from `limit + 1` fetched rows. With a budget, the page ends early once its rows'
 * stored bytes would pass `maxBytes` (it always carries at least one row), and next_cursor goes on
 * from there: large rows make shorter pages, never larger responses.
 */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  position: (row: Row) => CursorPosition,
  map: (row: Row) => Item,
  budget?: PageBudget<Row>,
): Page<Item> {
  let count = Math.min(rows.length, limit);
  if (budget) {
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const size = budget.bytesOf(rows[i]);
      if (bytes + size > budget.maxBytes && i > 0) {
        count = i;
        break;
      }
      bytes += size;
    }
    budget.spent?.(bytes);
  }
  const hasMore = rows.length > count;
  const visible = hasMore ? rows.slice(0, count) : rows;
  return {
    items: visible.map(map),
    next_cursor: hasMore ? encodeCursor(position(visible[visible.length - 1])) : null,
  };
}

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}
