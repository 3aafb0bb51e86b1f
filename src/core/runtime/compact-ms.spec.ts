import { compactMs } from './compact-ms';

describe('compactMs', () => {
  it('keeps a whole time the same, a fractional one rounded down', () => {
    expect([0, 1, 999, 60_000, 2 ** 31 - 1].map(compactMs)).toEqual([
      0,
      1,
      999,
      60_000,
      2 ** 31 - 1,
    ]);
    expect([0.5, 999.999, 2 ** 31 - 0.5].map(compactMs)).toEqual([0, 999, 2 ** 31 - 1]);
  });

  it('leaves a time past 2^31 ms or before the epoch a number as it is, rounded down', () => {
    const later = Date.now();
    expect([2 ** 31, later, later + 0.7, -1, -1.5].map(compactMs)).toEqual([
      2 ** 31,
      later,
      later,
      -1,
      -2,
    ]);
  });

  it('answers the difference of two clock readings as the small integer V8 stores inline', () => {
    // An object holding a heap number in a field is a box bigger than one holding an integer;
    // what can be checked without V8's internals: the value is an int32 (`x | 0` is itself).
    const epoch = Date.now();
    const elapsed = compactMs(Date.now() + 1_234 - epoch);
    expect(elapsed | 0).toBe(elapsed);
    expect(elapsed).toBeGreaterThanOrEqual(1_234);
  });
});
