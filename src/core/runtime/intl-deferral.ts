/**
 * While installed, `Intl.DateTimeFormat` makes formatters that build the real one on first use.
 * Installed only while @nestjs/common loads (see deferred-nest-formatters.ts): its two logger
 * modules each make a date formatter at load time, and the first formatter a process makes pages
 * in ICU's locale data, about 5 MB of resident memory (measured in a server: 5.4 MB of the
 * binary's pages). `boards serve` logs through pino, so those formatters never format a date; the
 * CLI's console logger gets the same formatter, with the same options, on its first line.
 * What the stand-in is not: an `instanceof Intl.DateTimeFormat`, a formatter whose `format` works
 * detached from it, or one that refuses a bad locale before its first use. Nest calls
 * `formatter.format(Date.now())` with fixed options, and only modules that load inside the window
 * get stand-ins.
 */
const RealDateTimeFormat = Intl.DateTimeFormat;
type Args = ConstructorParameters<typeof Intl.DateTimeFormat>;

/** A formatter that makes the real one (same locales and options) when first asked anything. */
class DeferredDateTimeFormat {
  private real: Intl.DateTimeFormat | undefined;

  constructor(private readonly args: Args) {}

  private get formatter(): Intl.DateTimeFormat {
    return (this.real ??= new RealDateTimeFormat(...this.args));
  }

  format(date?: Date | number): string {
    return this.formatter.format(date);
  }

  formatToParts(date?: Date | number): Intl.DateTimeFormatPart[] {
    return this.formatter.formatToParts(date);
  }

  formatRange(start: Date | number, end: Date | number): string {
    return this.formatter.formatRange(start, end);
  }

  formatRangeToParts(start: Date | number, end: Date | number) {
    return this.formatter.formatRangeToParts(start, end);
  }

  resolvedOptions(): Intl.ResolvedDateTimeFormatOptions {
    return this.formatter.resolvedOptions();
  }
}

/** Callable with or without `new`, like the real constructor; its statics are the real ones. */
const deferring = Object.assign(
  function DateTimeFormat(...args: Args) {
    return new DeferredDateTimeFormat(args);
  },
  { supportedLocalesOf: RealDateTimeFormat.supportedLocalesOf.bind(RealDateTimeFormat) },
);

const intl = Intl as unknown as { DateTimeFormat: unknown };

/** Runs `load` with deferring formatters installed; the real constructor is back afterwards. */
export function withDeferredDateFormatters<T>(load: () => T): T {
  intl.DateTimeFormat = deferring;
  try {
    return load();
  } finally {
    intl.DateTimeFormat = RealDateTimeFormat;
  }
}
