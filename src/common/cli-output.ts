import { Option } from 'commander';

export type OutputFormat = 'table' | 'json';

/** Writes rows as an aligned table, or one clean JSON document, to stdout. */
export function printRows(
  rows: Record<string, unknown>[],
  format: OutputFormat,
  document?: unknown,
): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(document ?? rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const columns = Object.keys(rows[0]);
  const cell = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of rows)
    process.stdout.write(`${line(columns.map((column) => cell(row[column])))}\n`);
}

/** Progress and notes go to stderr, so stdout stays clean for JSON and exports. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

export const formatOption = (): Option =>
  new Option('--output-format <format>', 'table or json')
    .choices(['table', 'json'])
    .default('table');
