/** A character V8 cannot store in a one-byte string (beyond Latin-1). */
const TWO_BYTE = /[\u0100-\uffff]/;
const SMALL_INTEGER = 2 ** 30;

/**
 * A rough estimate of the V8 heap (64-bit) held by a value parsed from JSON, for weighing cache
 * entries: strings 24 bytes plus one a character (two when one is beyond Latin-1); arrays 32, plus
 * 16 and 8 a slot when not empty; objects 56 plus 104 a property plus its name (what a property
 * costs when its object's shape is unique: V8 keeps a map and descriptors per shape); numbers
 * outside the small-integer range 16; small integers, booleans and null nothing beyond their slot.
 * Against measured heap growth it errs high for ordinary claims (about 2.5x for a handful of short
 * ones) and is within 1.25x below for the worst shapes tried (thousands of distinct property
 * names, tiny objects, nested arrays). It walks the value once without recursion (a token's JSON
 * may nest thousands deep): linear in the value's size, so compute it when an entry is stored,
 * never on a read.
 */
export function estimateHeapBytes(root: unknown): number {
  let total = 0;
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      total += 24 + (TWO_BYTE.test(value) ? 2 : 1) * value.length;
    } else if (typeof value === 'number') {
      if (!Number.isInteger(value) || Math.abs(value) >= SMALL_INTEGER) total += 16;
    } else if (Array.isArray(value)) {
      total += 32 + (value.length > 0 ? 16 + 8 * value.length : 0);
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      total += 56;
      for (const [name, item] of Object.entries(value)) {
        total += 104 + name.length;
        pending.push(item);
      }
    }
  }
  return total;
}
