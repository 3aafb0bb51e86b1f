import {
  VARIABLE_GROUPS,
  isComputedDefault,
  variableEntries,
  type VariableGroup,
  type VariableName,
  type VariableSpec,
} from './config-variables';

/**
 * The variable reference of docs/configuration.md, generated from the table (config-variables.ts)
 * between two marker lines; the prose around them is written by hand. `npm run docs:config`
 * (`boards config docs --update docs/configuration.md`) rewrites it, and a test fails while the
 * committed file differs from what the table gives.
 */

export const REGENERATE_COMMAND = 'npm run docs:config';
export const REFERENCE_BEGIN = `<!-- BEGIN GENERATED variable reference: from src/core/config/config-variables.ts by \`${REGENERATE_COMMAND}\`; edit the table, not this section -->`;
export const REFERENCE_END = '<!-- END GENERATED variable reference -->';

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1048576` → `1048576` (1 MiB), for variables counting bytes. */
function number(name: VariableName, value: number): string {
  const text = `\`${value}\``;
  if (!name.includes('BYTES') || value < 1024 || value % 1024 !== 0) return text;
  let amount = value;
  let unit = -1;
  while (amount % 1024 === 0 && unit < BINARY_UNITS.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return `${text} (${amount} ${BINARY_UNITS[unit]})`;
}

const code = (values: readonly string[]): string => values.map((v) => `\`${v}\``).join(', ');
const either = (values: readonly string[]): string =>
  values.length < 2 ? code(values) : `${code(values.slice(0, -1))} or ${code(values.slice(-1))}`;

function defaultCell(name: VariableName, spec: VariableSpec): string {
  const value = 'default' in spec ? spec.default : undefined;
  if (value === undefined) return spec.unset ? `*(none: ${spec.unset})*` : '*(none)*';
  if (isComputedDefault(value)) return value.computed;
  if (typeof value === 'number') return number(name, value);
  return `\`${String(value)}\``;
}

/** What the parser accepts, from the table's bounds and choices. */
function accepted(name: VariableName, spec: VariableSpec): string[] {
  switch (spec.kind) {
    case 'int':
      return [`Range: ${number(name, spec.min)} – ${number(name, spec.max)}.`];
    case 'choice':
      return [`One of ${either(spec.choices)}.`];
    case 'list':
      return spec.choices ? [`Entries: ${either(spec.choices)}.`] : [];
    case 'url':
      return [`A ${either(spec.protocols)} URL.`];
    case 'urls':
      return [
        `${either(spec.protocols)} URLs (${either(spec.productionProtocols)} in production).`,
      ];
    case 'custom':
      return [`Accepts ${spec.accepts}.`];
    case 'string':
      return [
        ...(spec.maxLength !== undefined ? [`At most ${spec.maxLength} characters.`] : []),
        ...(spec.pattern ? [`Must match \`${spec.pattern.source}\`.`] : []),
        ...(spec.minBytesInProduction !== undefined
          ? [`At least ${spec.minBytesInProduction} bytes in production.`]
          : []),
      ];
    case 'bool':
      return [];
  }
}

function secretCell(spec: VariableSpec): string {
  if (spec.secret === true) return 'yes';
  if (spec.secret === 'password') return 'its password';
  return 'no';
}

/** A table cell: a `|` would end it and a line break would end the row. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The generated section (without its marker lines): one table per group. */
export function renderReference(): string {
  const groups = new Map<VariableGroup, [VariableName, VariableSpec][]>();
  for (const entry of variableEntries()) {
    const rows = groups.get(entry[1].group) ?? [];
    rows.push(entry);
    groups.set(entry[1].group, rows);
  }
  const sections: string[] = [];
  for (const [group, title] of Object.entries(VARIABLE_GROUPS) as [VariableGroup, string][]) {
    const rows = groups.get(group);
    if (!rows) continue;
    sections.push(
      [
        `### ${title}`,
        '',
        '| variable | default | description | secret |',
        '|---|---|---|---|',
        ...rows.map(([name, spec]) => {
          const description = [spec.description, spec.details ?? '', ...accepted(name, spec)]
            .filter((part) => part !== '')
            .join(' ');
          return `| \`${name}\` | ${cell(defaultCell(name, spec))} | ${cell(description)} | ${secretCell(spec)} |`;
        }),
        '',
      ].join('\n'),
    );
  }
  return sections.join('\n');
}

/**
 * The document with its generated section replaced by the table's current reference; throws when
 * the marker lines are missing or out of order.
 */
export function withReference(markdown: string, reference = renderReference()): string {
  const lines = markdown.split('\n');
  const begin = lines.indexOf(REFERENCE_BEGIN);
  const end = lines.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin) {
    throw new Error(
      `the document has no generated variable reference: expected the lines\n${REFERENCE_BEGIN}\n…\n${REFERENCE_END}`,
    );
  }
  return [...lines.slice(0, begin + 1), '', reference, ...lines.slice(end)].join('\n');
}
