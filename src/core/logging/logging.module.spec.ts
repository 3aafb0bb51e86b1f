import pino from 'pino';
import { isoTime } from './logging.module';

describe("isoTime (the log lines' time field)", () => {
  const expected = (ms: number) => `,"time":"${new Date(ms).toISOString()}"`;

  it('writes what pino.stdTimeFunctions.isoTime writes, at any millisecond', () => {
    const base = Date.UTC(2026, 11, 4, 23, 59, 59);
    const moments = [0, 1, 9, 10, 99, 100, 999, 1_000, 1_001, 60_000, 3_600_000].map(
      (d) => base + d,
    );
    // Back and forth across seconds, days and years, so the per-second text is redone each time.
    moments.push(Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 0, 1), base, -1, 0);
    for (let i = 0; i < 200; i++) moments.push(Math.floor(Math.random() * 4_102_444_800_000));
    for (const ms of moments) expect(isoTime(ms)).toBe(expected(ms));
  });

  it('reads the clock by default, as pino does', () => {
    const before = Date.now();
    const field = isoTime();
    const after = Date.now();
    const written = Date.parse(/"time":"([^"]+)"/.exec(field)?.[1] ?? '');
    expect(written).toBeGreaterThanOrEqual(before);
    expect(written).toBeLessThanOrEqual(after);
    expect(field).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    expect(typeof pino.stdTimeFunctions.isoTime()).toBe('string');
    expect(pino.stdTimeFunctions.isoTime().length).toBe(field.length);
  });
});
