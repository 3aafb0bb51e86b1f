import {
  CONFIG_VARIABLES,
  type ComputedDefault,
  type VariablesWhere,
  type VariablesWithoutDefault,
} from './config-variables';
import type { EnvReader } from './env-parsers';

type Table = typeof CONFIG_VARIABLES;

/**
 * Reads a variable of the table with the default, bounds and choices declared there (so loadConfig
 * never writes one itself). The name decides the method: an int variable can only be read as an
 * int; a computed default (`{ computed }` in the table) is the one value loadConfig passes in.
 */
export class VariableReader {
  constructor(readonly env: EnvReader) {}

  int(name: VariablesWhere<{ kind: 'int'; default: number }>): number {
    const spec = CONFIG_VARIABLES[name];
    return this.env.int(name, spec.default, spec);
  }

  /** An int without a default: undefined unless set. */
  optionalInt(name: VariablesWithoutDefault<'int'>): number | undefined {
    const spec = CONFIG_VARIABLES[name];
    if (this.env.raw(name) === undefined) return undefined;
    return this.env.int(name, 0, spec);
  }

  bool(name: VariablesWhere<{ kind: 'bool'; default: boolean }>): boolean {
    return this.env.bool(name, CONFIG_VARIABLES[name].default);
  }

  /** A boolean whose default depends on other settings (`computed` in the table). */
  boolOr(name: VariablesWhere<{ kind: 'bool'; default: ComputedDefault }>, fallback: boolean) {
    return this.env.bool(name, fallback);
  }

  string(name: VariablesWhere<{ kind: 'string'; default: string }>): string {
    return this.env.string(name, CONFIG_VARIABLES[name].default);
  }

  /** A string without a default of its own (a computed one is applied by loadConfig). */
  optionalString(
    name:
      | VariablesWithoutDefault<'string'>
      | VariablesWhere<{ kind: 'string'; default: ComputedDefault }>,
  ): string | undefined {
    return this.env.string(name);
  }

  choice<N extends VariablesWhere<{ kind: 'choice'; default: string }>>(
    name: N,
  ): Table[N]['choices'][number] {
    const spec = CONFIG_VARIABLES[name];
    return this.env.oneOf<Table[N]['choices'][number]>(name, spec.choices, spec.default);
  }

  /** A choice whose default depends on other settings (`computed` in the table). */
  choiceOr<N extends VariablesWhere<{ kind: 'choice'; default: ComputedDefault }>>(
    name: N,
    fallback: Table[N]['choices'][number],
  ): Table[N]['choices'][number] {
    return this.env.oneOf<Table[N]['choices'][number]>(
      name,
      CONFIG_VARIABLES[name].choices,
      fallback,
    );
  }

  url(name: VariablesWhere<{ kind: 'url' }>): string | undefined {
    return this.env.url(name, CONFIG_VARIABLES[name].protocols);
  }

  urls(name: VariablesWhere<{ kind: 'urls' }>, isProduction: boolean): string[] {
    const spec = CONFIG_VARIABLES[name];
    return this.env.urlList(name, isProduction ? spec.productionProtocols : spec.protocols);
  }

  list(name: VariablesWhere<{ kind: 'list' }>): string[] {
    return this.env.list(name);
  }
}
