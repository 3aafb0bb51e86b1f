import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { ConfigModule as NestConfigModule, ConfigService } from '@nestjs/config';
import { Test, type TestingModule } from '@nestjs/testing';
import { BoardsConfig, loadConfig } from './boards-config';
import {
  BOARDS_CONFIG_KEY,
  ConfigModule,
  boardsConfigOptions,
  validateBoardsEnv,
} from './config.module';
import { ConfigError } from './env-parsers';

/** A consumer as every service is written: the typed config through its constructor. */
@Injectable()
class Consumer {
  constructor(readonly config: BoardsConfig) {}
}

async function appWith(config: BoardsConfig): Promise<TestingModule> {
  return Test.createTestingModule({
    imports: [ConfigModule.forRoot(config)],
    providers: [Consumer],
  }).compile();
}

/** Runs `work` with these process.env entries set, and restores them afterwards. */
async function withProcessEnv<T>(entries: Record<string, string>, work: () => Promise<T>) {
  const before = Object.fromEntries(Object.keys(entries).map((name) => [name, process.env[name]]));
  Object.assign(process.env, entries);
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The process environment as this file found it: every test must leave it so. */
const PROCESS_ENV = { ...process.env };

describe('ConfigModule (@nestjs/config)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    // @nestjs/config only adds names that are not set yet: checked after every test, so that one
    // test's leftovers cannot hide the next one's.
    expect({ ...process.env }).toEqual(PROCESS_ENV);
  });

  it('gives each application the config it was created with, never process.env', async () => {
    const first = loadConfig({ BOARDS_API_PORT: '1111', BOARDS_REDIS_KEY_PREFIX: 'first' });
    const second = loadConfig({ BOARDS_API_PORT: '2222', BOARDS_MULTI_TENANT_MODE: 'true' });
    const apps = await withProcessEnv(
      { BOARDS_API_PORT: '3333', BOARDS_ENVIRONMENT: 'production', BOARDS_REDIS_KEY_PREFIX: 'env' },
      () => Promise.all([appWith(first), appWith(second)]),
    );
    try {
      const [a, b] = apps.map((app) => app.get(Consumer).config);
      expect(a).toEqual(first);
      expect(b).toEqual(second);
      expect([a.api.port, a.redisKeyPrefix, a.environment]).toEqual([1111, 'first', 'development']);
      expect([b.api.port, b.tenancy.multiTenantMode]).toEqual([2222, true]);
      // The same object through ConfigService, which does not fall back on process.env.
      expect(apps[0].get(ConfigService).get(BOARDS_CONFIG_KEY)).toBe(a);
      expect(apps[1].get(ConfigService).get(BOARDS_CONFIG_KEY)).toBe(b);
      expect(apps[0].get(ConfigService).get('PATH')).toBeUndefined();
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('validates the variables the config was parsed from (and only BOARDS_* ones are kept)', () => {
    const config = loadConfig({ BOARDS_API_PORT: '1234', BOARDS_TYPO: 'x', PATH: '/usr/bin' });
    expect(config.source).toEqual({ BOARDS_API_PORT: '1234', BOARDS_TYPO: 'x' });
    expect(Object.isFrozen(config.source)).toBe(true);
    expect(loadConfig(config.source)).toEqual(config);
    // Not a field: configs still compare by their settings, and nothing prints it by accident.
    expect(Object.keys(config)).not.toContain('source');
    expect(JSON.stringify(config)).not.toContain('BOARDS_API_PORT');
  });

  it('writes nothing into process.env and prints nothing', async () => {
    const before = { ...process.env };
    const stdout = jest.spyOn(process.stdout, 'write');
    const log = jest.spyOn(console, 'log');
    const app = await appWith(
      loadConfig({ BOARDS_ENVIRONMENT: 'test', BOARDS_LOG_LEVEL: 'warn', BOARDS_DEBUG: 'true' }),
    );
    await app.close();
    expect({ ...process.env }).toEqual(before);
    expect(stdout).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('would copy a flat validate result into process.env: why the hook returns one object', async () => {
    // @nestjs/config's assignVariablesToProcess, which skipProcessEnv does not switch off.
    const canary = 'BOARDS_CONFIG_SPEC_CANARY';
    try {
      await NestConfigModule.forRoot({
        ignoreEnvFile: true,
        validatePredefined: false,
        skipProcessEnv: true,
        validate: () => ({ [canary]: 'copied' }),
      });
      expect(process.env[canary]).toBe('copied');
    } finally {
      delete process.env[canary];
    }
    const validated = validateBoardsEnv({});
    expect(Object.entries(validated).map(([key, value]) => [key, typeof value])).toEqual([
      [BOARDS_CONFIG_KEY, 'object'],
    ]);
  });

  it('reads no .env file and validates no process variable', async () => {
    const forRoot = jest.spyOn(NestConfigModule, 'forRoot');
    const dir = mkdtempSync(join(tmpdir(), 'boards-config-module-'));
    writeFileSync(join(dir, '.env'), 'BOARDS_API_PORT=4444\nBOARDS_DOTENV_CANARY=1\n');
    jest.spyOn(process, 'cwd').mockReturnValue(dir);
    const read = jest.spyOn(fs, 'readFileSync');
    try {
      const app = await appWith(loadConfig({}));
      expect(app.get(BoardsConfig).api.port).toBe(8800);
      await app.close();
      expect(read.mock.calls.filter(([path]) => String(path).startsWith(dir))).toEqual([]);
      expect(process.env.BOARDS_DOTENV_CANARY).toBeUndefined();
      expect(forRoot).toHaveBeenCalledWith(
        expect.objectContaining({
          ignoreEnvFile: true,
          validatePredefined: false,
          skipProcessEnv: true,
        }),
      );
      // What @nestjs/config hands the hook: nothing from the process (validatePredefined off), nor
      // from the .env file in the working directory (ignoreEnvFile).
      const validate = jest.fn(boardsConfigOptions({}).options.validate);
      await withProcessEnv({ BOARDS_API_PORT: 'not-a-port' }, () =>
        NestConfigModule.forRoot({ ...boardsConfigOptions({}).options, validate }),
      );
      expect(validate).toHaveBeenCalledWith({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the import with the ConfigError listing every problem', async () => {
    const bad = { BOARDS_API_PORT: 'abc', BOARDS_LOG_LEVEL: 'verbose' };
    const expected = [
      'BOARDS_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      'BOARDS_API_PORT: expected a whole number, got "abc"',
    ];
    expect(() => validateBoardsEnv(bad)).toThrow(ConfigError);
    const failure: unknown = await NestConfigModule.forRoot(boardsConfigOptions(bad).options).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).problems).toEqual(expected);
  });

  it('refuses something that is not a parsed BoardsConfig', () => {
    expect(() => ConfigModule.forRoot({ api: { port: 1 } } as unknown as BoardsConfig)).toThrow(
      TypeError,
    );
  });
});
