const RealDateTimeFormat = Intl.DateTimeFormat;
const intl = Intl as unknown as { DateTimeFormat: unknown };
const OPTIONS: Intl.DateTimeFormatOptions = {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  timeZone: 'UTC',
};
const WHEN = Date.UTC(2026, 11, 5, 23, 50, 7);

/**
 * Loads `load` (in a fresh module registry) with Intl.DateTimeFormat counting the real
 * formatters made; answers its result and a function telling the count so far.
 */
function counting<T>(load: () => T): { loaded: T; made: () => number } {
  let made = 0;
  const counter = Object.assign(
    function DateTimeFormat(...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
      made++;
      return new RealDateTimeFormat(...args);
    },
    { supportedLocalesOf: RealDateTimeFormat.supportedLocalesOf },
  );
  intl.DateTimeFormat = counter;
  let loaded: T | undefined;
  try {
    jest.isolateModules(() => {
      loaded = load();
    });
  } finally {
    intl.DateTimeFormat = RealDateTimeFormat;
  }
  return { loaded: loaded as T, made: () => made };
}

describe('withDeferredDateFormatters', () => {
  afterEach(() => {
    intl.DateTimeFormat = RealDateTimeFormat;
  });

  it('makes formatters that build the real one on first use and format as it does', () => {
    const { loaded, made } = counting(() => {
      const { withDeferredDateFormatters } =
        jest.requireActual<typeof import('./intl-deferral')>('./intl-deferral');
      return withDeferredDateFormatters(() => [
        new Intl.DateTimeFormat('en-US', OPTIONS),
        // Called without `new`, as the real constructor may be.
        (Intl.DateTimeFormat as unknown as (...args: unknown[]) => Intl.DateTimeFormat)(
          'de-DE',
          OPTIONS,
        ),
      ]);
    });
    const [english, german] = loaded;
    expect(made()).toBe(0);
    expect(english.format(WHEN)).toBe(new RealDateTimeFormat('en-US', OPTIONS).format(WHEN));
    expect(made()).toBe(1);
    expect(english.format(WHEN)).toBe('12/05/2026, 11:50:07 PM');
    expect(made()).toBe(1);
    expect(german.formatToParts(WHEN)).toEqual(
      new RealDateTimeFormat('de-DE', OPTIONS).formatToParts(WHEN),
    );
    expect(german.resolvedOptions().locale).toBe('de-DE');
    expect(english.formatRange(WHEN, WHEN + 60_000)).toBe(
      new RealDateTimeFormat('en-US', OPTIONS).formatRange(WHEN, WHEN + 60_000),
    );
  });

  it('puts the real constructor back afterwards, also when loading throws', () => {
    const { withDeferredDateFormatters } =
      jest.requireActual<typeof import('./intl-deferral')>('./intl-deferral');
    expect(() =>
      withDeferredDateFormatters(() => {
        expect(Intl.DateTimeFormat).not.toBe(RealDateTimeFormat);
        expect(Intl.DateTimeFormat.supportedLocalesOf(['en-US'])).toEqual(['en-US']);
        throw new Error('load failed');
      }),
    ).toThrow('load failed');
    expect(Intl.DateTimeFormat).toBe(RealDateTimeFormat);
    expect(new Intl.DateTimeFormat('en-US')).toBeInstanceOf(RealDateTimeFormat);
  });

  it("loads @nestjs/common without making a formatter; Nest's console logger makes one on its first line", () => {
    const { loaded, made } = counting(() => {
      jest.requireActual('./deferred-nest-formatters');
      return jest.requireActual<typeof import('@nestjs/common')>('@nestjs/common');
    });
    expect(made()).toBe(0);
    expect(Intl.DateTimeFormat).toBe(RealDateTimeFormat);
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      new loaded.ConsoleLogger('Spec', { colors: false }).log('hello');
    } finally {
      write.mockRestore();
    }
    expect(made()).toBe(1);
    expect(lines.join('')).toMatch(
      /^\[Nest\] \d+ +- \d{2}\/\d{2}\/\d{4}, \d{1,2}:\d{2}:\d{2} [AP]M +LOG \[Spec\] hello\n$/,
    );
  });
});
