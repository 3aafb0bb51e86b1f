const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * A time in ms (counted from a CompactClock's epoch) in the form V8 keeps most compactly in an
 * object's field: a whole number that fits an int32 becomes a small integer, held in the field
 * itself. Arithmetic on `Date.now()` readings yields heap numbers even when the result is small,
 * and a field holding one points to a 16-byte box of its own (one per cached entry, tens of
 * thousands at 10,000 tenants); once any object of a shape stores a non-integer there, every
 * object of that shape boxes it. A fraction is dropped (the time rounds down, towards expiring
 * sooner); a time outside the int32 range stays a (boxed) number, with the same value.
 */
export function compactMs(ms: number): number {
  const whole = Math.floor(ms);
  return whole >= INT32_MIN && whole <= INT32_MAX ? whole | 0 : whole;
}

/** How old an epoch may grow before it moves to the present (12 days: times stay int32s). */
export const EPOCH_SPAN_MS = 2 ** 30;

/**
 * A clock for objects that keep many times (caches, rate-limit windows, budgets): it reads ms
 * since an epoch of its own, as compactMs keeps them. When the epoch is EPOCH_SPAN_MS old, or
 * the clock reads before it (set back), the epoch moves to the present and `rebase(delta)` is
 * called first, to subtract `delta` from every time the owner keeps: every comparison and every
 * difference then answers as it would with the absolute readings.
 */
export class CompactClock {
  private epoch: number;

  constructor(
    private readonly clock: () => number,
    private readonly rebase: (delta: number) => void,
  ) {
    this.epoch = Math.floor(clock());
  }

  /** ms since the epoch: a small integer, never negative. */
  now(): number {
    const elapsed = this.clock() - this.epoch;
    if (elapsed >= 0 && elapsed < EPOCH_SPAN_MS) return elapsed | 0;
    const delta = Math.floor(elapsed);
    this.rebase(delta);
    this.epoch += delta;
    return (elapsed - delta) | 0;
  }
}
