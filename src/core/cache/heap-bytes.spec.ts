import { estimateHeapBytes } from './heap-bytes';

describe('estimateHeapBytes', () => {
  it('weighs strings by length, twice for characters beyond Latin-1', () => {
    expect(estimateHeapBytes('')).toBe(24);
    expect(estimateHeapBytes('a'.repeat(1_000))).toBe(1_024);
    expect(estimateHeapBytes('é'.repeat(1_000))).toBe(1_024);
    expect(estimateHeapBytes('漢'.repeat(1_000))).toBe(2_024);
  });

  it('counts small integers, booleans and null only as the slot that holds them', () => {
    for (const value of [0, 1, -5, true, false, null]) expect(estimateHeapBytes(value)).toBe(0);
    expect(estimateHeapBytes(1.5)).toBe(16);
    expect(estimateHeapBytes(2 ** 40)).toBe(16);
  });

  it('adds arrays, objects and their property names', () => {
    expect(estimateHeapBytes([])).toBe(32);
    expect(estimateHeapBytes([1, 2, 3])).toBe(32 + 16 + 24);
    expect(estimateHeapBytes({})).toBe(56);
    expect(estimateHeapBytes({ sub: 'alice' })).toBe(56 + 104 + 3 + 24 + 5);
  });

  it('weighs many tiny values far above their JSON length', () => {
    const tiny = Array.from({ length: 1_000 }, () => ({}));
    expect(JSON.stringify(tiny).length).toBeLessThan(3_100);
    expect(estimateHeapBytes(tiny)).toBe(32 + 16 + 8 * 1_000 + 56 * 1_000);
  });

  it('walks deeply nested values without overflowing the stack', () => {
    let nested: unknown[] = [];
    for (let i = 0; i < 100_000; i++) nested = [nested];
    expect(estimateHeapBytes(nested)).toBe(100_000 * (32 + 16 + 8) + 32);
  });
});
