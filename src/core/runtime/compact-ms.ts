const INT32_MAX = 0x7fffffff;

/**
 * A time in ms (from a cache's own epoch) in the form V8 keeps most compactly in an object's
 * field: a whole number that fits an int32 becomes a small integer, held in the field itself.
 * Arithmetic on `Date.now()` readings yields heap numbers even when the result is small, and a
 * field holding one points to a 16-byte box of its own (one per cached entry, tens of thousands
 * at 10,000 tenants); once any object of a shape stores a non-integer there, every object of that
 * shape boxes it. A fraction is dropped (the time rounds down, towards expiring sooner); a time
 * past 2^31 ms (24 days after the epoch) or before it is kept as it is.
 */
export function compactMs(ms: number): number {
  return ms >= 0 && ms <= INT32_MAX ? ms | 0 : Math.floor(ms);
}
