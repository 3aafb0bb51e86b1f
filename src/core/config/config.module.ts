import { Global, Module, type DynamicModule } from '@nestjs/common';
import {
  ConfigModule as NestConfigModule,
  registerAs,
  type ConfigModuleOptions,
} from '@nestjs/config';
import { BoardsConfig, loadConfig } from './boards-config';
import type { Env } from './env-parsers';

/** Where the validated BoardsConfig sits in @nestjs/config's ConfigService. */
export const BOARDS_CONFIG_KEY = 'boards';

/** What the validate hook hands to @nestjs/config: the parsed config under one key. */
export interface ValidatedBoardsEnv {
  readonly [BOARDS_CONFIG_KEY]: BoardsConfig;
}

/**
 * The validate hook of @nestjs/config, and the CLI's early check before Nest starts: loadConfig
 * over these variables (defaults and bounds from the table, config-variables.ts), throwing one
 * ConfigError that lists every problem.
 *
 * The result has a single key whose value is an object: @nestjs/config copies the string, number
 * and boolean values of a validate result into process.env (assignVariablesToProcess, not
 * switched off by skipProcessEnv), so a flat result would write settings such as `environment`
 * into the process environment. An object value is never copied.
 */
export function validateBoardsEnv(env: Readonly<Record<string, unknown>>): ValidatedBoardsEnv {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') strings[name] = value;
  }
  return { [BOARDS_CONFIG_KEY]: loadConfig(strings) };
}

/** @nestjs/config's options for one application, and the token of its BoardsConfig provider. */
export interface BoardsConfigOptions {
  readonly options: ConfigModuleOptions;
  /** The `registerAs` token (`CONFIGURATION(boards)`) under which the validated config is provided. */
  readonly token: string | symbol;
}

/**
 * The @nestjs/config options of one application, validating exactly `env`: no `.env` file is read
 * (the .env.* files are examples that the shell or docker compose exports), process.env is neither
 * validated nor consulted by ConfigService, and nothing is written to it (see validateBoardsEnv).
 * The validate hook ignores what @nestjs/config collected (nothing, with these options) and
 * validates the application's own variables; the `registerAs` factory then provides the config it
 * produced (validate runs inside ConfigModule.forRoot, before any provider is created). Every call
 * has its own closure: applications never share a config.
 */
export function boardsConfigOptions(env: Env): BoardsConfigOptions {
  let validated: BoardsConfig | undefined;
  const boards = registerAs(BOARDS_CONFIG_KEY, (): BoardsConfig => {
    if (validated === undefined) throw new Error('the configuration was not validated');
    return validated;
  });
  return {
    options: {
      ignoreEnvFile: true,
      validatePredefined: false,
      skipProcessEnv: true,
      validate: () => {
        const result = validateBoardsEnv(env);
        validated = result[BOARDS_CONFIG_KEY];
        return result;
      },
      load: [boards],
    },
    token: boards.KEY,
  };
}

/**
 * Provides the application's BoardsConfig to every module (`constructor(private readonly config:
 * BoardsConfig)`) through @nestjs/config: ConfigModule.forRoot validates the variables the given
 * config was parsed from (`config.source`, never process.env), and BoardsConfig is the validated
 * result, as `registerAs` provides it (also ConfigService's `boards`). Each application gets the
 * config it was created with: nothing here keeps a value between applications.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: BoardsConfig): DynamicModule {
    if (!(config instanceof BoardsConfig)) {
      throw new TypeError('ConfigModule.forRoot needs a BoardsConfig made by loadConfig');
    }
    const { options, token } = boardsConfigOptions(config.source);
    const nestConfig = NestConfigModule.forRoot(options);
    // A validation failure surfaces when Nest awaits the import; until then it is not unhandled.
    nestConfig.catch(() => undefined);
    return {
      module: ConfigModule,
      imports: [nestConfig],
      providers: [
        {
          provide: BoardsConfig,
          inject: [token],
          useFactory: (validated: BoardsConfig) => validated,
        },
      ],
      exports: [BoardsConfig],
    };
  }
}
