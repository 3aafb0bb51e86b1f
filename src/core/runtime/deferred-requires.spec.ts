import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI_ENTRY, ensureBuilt, REPO_ROOT } from 'test/support/http';

/**
 * Jest loads modules through a registry of its own (and hands tests a stand-in for `node:module`),
 * so these tests run their scripts in a plain `node` on the compiled modules: Node's loader is
 * the one `boards serve` runs on and the one the deferral takes over. Each script prints one JSON
 * line: what it saw.
 */
const RUNTIME = join(REPO_ROOT, 'dist', 'src', 'core', 'runtime');

function inNode<T>(script: string, cwd = REPO_ROOT): T {
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`node exited with ${run.status}:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as T;
}

beforeAll(() => ensureBuilt(), 240_000);

describe('withDeferredRequires', () => {
  let root: string;
  // lib/index.js requires a module a rule defers (heavy) and one no rule names (light); each
  // records when it runs.
  const record = (name: string) => `(globalThis.loads ??= []).push('${name}');\n`;
  const RULES = `[
    { from: /\\/node_modules\\/lib\\/index\\.js$/, request: /^\\.\\/heavy$/ },
  ]`;
  const prelude = `
    const Module = require('node:module');
    const { withDeferredRequires } = require(${JSON.stringify(join(RUNTIME, 'deferred-requires.js'))});
    const loads = () => [...(globalThis.loads ?? [])];
    const original = Module._load;
  `;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'deferred-requires-'));
    const files: Record<string, string> = {
      'node_modules/lib/index.js':
        record('index') +
        `const heavy = require('./heavy');
         const light = require('./light');
         exports.area = (side) => heavy.square(side);
         Object.assign(exports, { heavy, light });`,
      'node_modules/lib/heavy.js':
        record('heavy') + `exports.square = (n) => n * n; exports.unit = 'm²';`,
      'node_modules/lib/light.js': record('light') + `exports.name = 'light';`,
      'node_modules/lib/broken-user.js': `exports.broken = require('./broken');`,
      'node_modules/lib/broken.js': record('broken') + `throw new Error('broken at load');`,
    };
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), source);
    }
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('loads a deferred module on first use, with the same exports; the others at once', () => {
    const seen = inNode<Record<string, unknown>>(
      `${prelude}
      const lib = withDeferredRequires(${RULES}, () => require('lib'));
      const atLoad = loads();
      const area = lib.area(3);
      const afterArea = loads();
      const real = require('lib/heavy');
      const keys = Object.keys(lib.heavy);
      const spread = { ...lib.heavy };
      const has = 'unit' in lib.heavy;
      lib.heavy.unit = 'cm²';
      console.log(JSON.stringify({ atLoad, area, afterArea, keys, spread, has,
        written: real.unit, light: lib.light.name, loads: loads(), loaderBack: Module._load === original }));`,
      root,
    );
    expect(seen).toEqual({
      atLoad: ['index', 'light'],
      area: 9,
      afterArea: ['index', 'light', 'heavy'],
      keys: ['square', 'unit'],
      spread: { unit: 'm²' }, // a function does not survive JSON; `keys` shows `square` is there
      has: true,
      written: 'cm²',
      light: 'light',
      // Each module ran once.
      loads: ['index', 'light', 'heavy'],
      loaderBack: true,
    });
  });

  it('fails on first use when the module does not load, and with the same error after, once run', () => {
    const seen = inNode<{ errors: string[]; runs: number }>(
      `${prelude}
      const lib = withDeferredRequires(
        [{ from: /\\/node_modules\\/lib\\/broken-user\\.js$/, request: /^\\.\\/broken$/ }],
        () => require('lib/broken-user'),
      );
      const errors = [];
      for (let i = 0; i < 2; i++) { try { lib.broken.anything; } catch (err) { errors.push(err.message); } }
      console.log(JSON.stringify({ errors, runs: loads().filter((name) => name === 'broken').length }));`,
      root,
    );
    expect(seen).toEqual({ errors: ['broken at load', 'broken at load'], runs: 1 });
  });

  it("puts Node's loader back when the load throws; outside the window nothing waits", () => {
    const seen = inNode<Record<string, unknown>>(
      `${prelude}
      let error = 'none';
      try { withDeferredRequires(${RULES}, () => { throw new Error('load failed'); }); }
      catch (err) { error = err.message; }
      const loaderBack = Module._load === original;
      require('lib');
      console.log(JSON.stringify({ error, loaderBack, loads: loads() }));`,
      root,
    );
    expect(seen).toEqual({
      error: 'load failed',
      loaderBack: true,
      loads: ['index', 'heavy', 'light'],
    });
  });
});

describe('the libraries `boards serve` loads with deferred requires (deferred-libraries.ts)', () => {
  /** Loads deferred-libraries.js, then runs `body`; `loaded(pattern)` asks Node's module cache. */
  const afterDeferral = <T>(body: string) =>
    inNode<T>(`
      require(${JSON.stringify(join(RUNTIME, 'deferred-libraries.js'))});
      const loaded = (pattern) => Object.keys(require.cache).some((file) => pattern.test(file));
      ${body}`);

  it('loads PostgreSQL’s driver and none of the others, nor libphonenumber-js', () => {
    // (typeorm's index still loads sqlserver/MssqlParameter.js, a small class it exports.)
    const seen = afterDeferral<Record<string, boolean>>(`
      const drivers = ['postgres', 'mysql', 'aurora-mysql', 'sqlserver', 'oracle', 'sap', 'cockroachdb',
        'mongodb', 'spanner', 'better-sqlite3', 'sqljs', 'sqlite-abstract', 'react-native', 'expo'];
      const seen = Object.fromEntries(drivers.map((driver) =>
        [driver, loaded(new RegExp('/node_modules/typeorm/driver/' + driver + '/[A-Za-z]*Driver[.]js$'))]));
      seen.libphonenumber = loaded(/\\/node_modules\\/libphonenumber-js\\//);
      seen.factory = loaded(/\\/node_modules\\/typeorm\\/driver\\/DriverFactory\\.js$/);
      console.log(JSON.stringify(seen));`);
    expect(seen).toEqual({
      postgres: true,
      factory: true,
      mysql: false,
      'aurora-mysql': false,
      sqlserver: false,
      oracle: false,
      sap: false,
      cockroachdb: false,
      mongodb: false,
      spanner: false,
      'better-sqlite3': false,
      sqljs: false,
      'sqlite-abstract': false,
      'react-native': false,
      expo: false,
      libphonenumber: false,
    });
  });

  it('is what the CLI entry point loads, before anything else loads either library', () => {
    // A preload that reports, as the process exits, which of the modules the CLI loaded.
    const preload = join(mkdtempSync(join(tmpdir(), 'deferred-cli-')), 'report.js');
    writeFileSync(
      preload,
      `process.on('exit', () => {
        const files = Object.keys(require.cache);
        const loaded = (pattern) => files.some((file) => pattern.test(file));
        process.stdout.write(JSON.stringify({
          typeorm: loaded(/\\/node_modules\\/typeorm\\/data-source\\/DataSource\\.js$/),
          validator: loaded(/\\/node_modules\\/class-validator\\/cjs\\/index\\.js$/),
          mysql: loaded(/\\/node_modules\\/typeorm\\/driver\\/mysql\\/MysqlDriver\\.js$/),
          libphonenumber: loaded(/\\/node_modules\\/libphonenumber-js\\//),
        }) + '\\n');
      });`,
    );
    const run = spawnSync(process.execPath, ['-r', preload, CLI_ENTRY, '--help'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    rmSync(dirname(preload), { recursive: true, force: true });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').pop() as string)).toEqual({
      typeorm: true,
      validator: true,
      mysql: false,
      libphonenumber: false,
    });
  });

  it('creates a deferred driver when asked, with the answer TypeORM gives without the deferral', () => {
    // Without the deferral (a second process) and with it: the same refusal (no mysql package),
    // the same PostgreSQL driver.
    const script = `
      const { DataSource } = require('typeorm');
      let mysql;
      try { new DataSource({ type: 'mysql' }); mysql = 'created'; } catch (err) { mysql = err.name + ': ' + err.message; }
      const postgres = new DataSource({ type: 'postgres' }).driver.constructor.name;
      const aurora = (() => { try { return new DataSource({ type: 'aurora-postgres', database: 'd', secretArn: 's', resourceArn: 'r', region: 'x' }).driver.constructor.name; } catch (err) { return err.name; } })();
      console.log(JSON.stringify({ mysql, postgres, aurora }));`;
    const deferred = afterDeferral<Record<string, string>>(script);
    const plain = inNode<Record<string, string>>(script);
    expect(deferred).toEqual(plain);
    expect(deferred.mysql).toMatch(
      /^DriverPackageNotInstalledError: Mysql package has not been found/,
    );
    expect(deferred.postgres).toBe('PostgresDriver');
  });

  it('validates a phone number as without the deferral, loading libphonenumber-js then', () => {
    const script = `
      const { IsPhoneNumber, validateSync } = require('class-validator');
      class Contact {}
      IsPhoneNumber('DE')(Contact.prototype, 'phone');
      const check = (phone) => validateSync(Object.assign(new Contact(), { phone })).map((e) => e.constraints);
      const before = typeof loaded === 'function' ? loaded(/\\/node_modules\\/libphonenumber-js\\//) : null;
      const answers = [check('+49 30 901820'), check('030 901820'), check('not a number'), check(42)];
      const after = typeof loaded === 'function' ? loaded(/\\/node_modules\\/libphonenumber-js\\//) : null;
      console.log(JSON.stringify({ answers, before, after }));`;
    const deferred = afterDeferral<{ answers: unknown[]; before: boolean; after: boolean }>(script);
    const plain = inNode<{ answers: unknown[] }>(script);
    expect(deferred.answers).toEqual(plain.answers);
    expect(deferred.answers).toEqual([
      [],
      [],
      [{ isPhoneNumber: 'phone must be a valid phone number' }],
      [{ isPhoneNumber: 'phone must be a valid phone number' }],
    ]);
    expect([deferred.before, deferred.after]).toEqual([false, true]);
  });
});
