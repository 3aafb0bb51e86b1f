import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from 'src/core/config/boards-config';
import { codeBlocks, markdownSection } from 'test/support/doc-blocks';
import { REPO_ROOT } from 'test/support/http';

/**
 * docker-compose.yml against what the documentation says of it (docs/deployment.md scenario 1 and
 * "Containers and Kubernetes", the README, the file's own header) and against
 * deploy/postgres-init.sql: published ports, the database name of the healthcheck and of the URLs,
 * the roles and their passwords, the URL the API answers on, and that the API's published port
 * does not collide with `npm start` (the default port). No Docker engine needed: the files are
 * parsed and compared (the file is parsed the way test/integration/k8s-manifests.int-spec.ts does).
 */

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const read = (...path: string[]) => readFileSync(join(REPO_ROOT, ...path), 'utf8');

function parseCompose(file: string): { services: Record<string, ComposeService> } {
  const documents = parseAllDocuments(read(file), { merge: true, uniqueKeys: true });
  expect(documents).toHaveLength(1);
  const [document] = documents;
  if (document.errors.length > 0) {
    throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
  }
  return document.toJS() as { services: Record<string, ComposeService> };
}

/** `"127.0.0.1:8080:8800"` → host address, host port, container port. */
function publishedPort(mapping: string): { host: string; published: number; target: number } {
  const match = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)$/.exec(mapping);
  if (!match) throw new Error(`a published port without a host address: ${mapping}`);
  return { host: match[1], published: Number(match[2]), target: Number(match[3]) };
}

/** KEY=value lines (quotes and trailing comments as a shell reads these simple ones). */
function parseEnvBlock(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=("[^"]*"|\S*)/.exec(line.trim());
    if (match) env[match[1]] = match[2].replace(/^"(.*)"$/, '$1');
  }
  return env;
}

/** The roles and the database deploy/postgres-init.sql creates. */
function initScript(): { passwords: Record<string, string>; database: string; owner: string } {
  const sql = read('deploy', 'postgres-init.sql');
  const passwords = Object.fromEntries(
    [...sql.matchAll(/CREATE ROLE (\w+) LOGIN PASSWORD '([^']*)'/g)].map((m) => [m[1], m[2]]),
  );
  const database = /CREATE DATABASE (\w+) OWNER (\w+)/.exec(sql);
  if (!database) throw new Error('deploy/postgres-init.sql creates no database');
  return { passwords, database: database[1], owner: database[2] };
}

describe('docker-compose.yml and what the docs say of it', () => {
  const { services } = parseCompose('docker-compose.yml');
  const { api, postgres, redis } = services;
  const ports = (service: ComposeService) => (service.ports ?? []).map(publishedPort);
  const portOf = (service: ComposeService, target: number) => {
    const found = ports(service).filter((p) => p.target === target);
    expect(found).toHaveLength(1);
    return found[0].published;
  };
  const apiConfig = loadConfig(api.environment ?? {});
  const apiPort = portOf(api, apiConfig.api.port);
  const postgresPort = portOf(postgres, 5432);
  const redisPort = portOf(redis, 6379);
  const init = initScript();
  const deployment = read('docs', 'deployment.md');
  const scenario = markdownSection(deployment, '### 1. Development').text;
  const containers = markdownSection(deployment, '## Containers and Kubernetes').text;
  const composeBullet = containers.slice(
    containers.indexOf('- `docker-compose.yml`'),
    containers.indexOf('- `docker-compose.prod.yml`'),
  );

  it('publishes every port on 127.0.0.1 only, the API apart from npm start', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of ports(service)) expect([name, port.host]).toEqual([name, '127.0.0.1']);
    }
    // The container serves on the app's port; the host port is another than `npm start`'s.
    const npmStartPort = loadConfig({}).api.port;
    expect(apiConfig.api.port).toBe(npmStartPort);
    expect(apiPort).not.toBe(npmStartPort);
    expect(new Set([apiPort, postgresPort, redisPort, 5432, 6379, npmStartPort]).size).toBe(6);
  });

  it("the API's URLs name the database and the roles the init script creates, and the healthcheck waits for them", () => {
    const env = api.environment ?? {};
    const runtime = new URL(env.BOARDS_DATABASE_URL);
    const owner = new URL(env.BOARDS_DATABASE_OWNER_URL);
    for (const url of [runtime, owner]) {
      expect([url.hostname, url.port, url.pathname]).toEqual([
        'postgres',
        '5432',
        `/${init.database}`,
      ]);
      expect(url.password).toBe(init.passwords[url.username]);
    }
    expect(owner.username).toBe(init.owner);
    expect(runtime.username).toBe(apiConfig.database.runtimeRole);
    expect(new URL(env.BOARDS_REDIS_URL)).toMatchObject({ hostname: 'redis', port: '6379' });

    // The healthcheck connects over TCP (the image's init-time server listens on its socket only)
    // to the database the URLs name, as its owner: healthy means the init script has run.
    const check = postgres.healthcheck?.test ?? [];
    const flag = (name: string) => check[check.indexOf(name) + 1];
    expect(check.includes('-d') && flag('-d')).toBe(init.database);
    expect(check.includes('-U') && flag('-U')).toBe(init.owner);
    expect(check.includes('-h') && flag('-h')).toBe('127.0.0.1');
    expect(api.depends_on?.postgres.condition).toBe('service_healthy');
    expect(postgres.environment?.POSTGRES_DB).not.toBe(init.database); // created by the script
  });

  it('docs/deployment.md scenario 1 reaches the compose PostgreSQL and Redis as published', () => {
    const [block] = codeBlocks(scenario, ['sh', 'bash']);
    const env = parseEnvBlock(block.code);
    const expectedUrl = (role: string) =>
      `postgresql://${role}:${init.passwords[role]}@127.0.0.1:${postgresPort}/${init.database}`;
    const composeEnv = api.environment ?? {};
    expect(env.BOARDS_DATABASE_URL).toBe(
      expectedUrl(new URL(composeEnv.BOARDS_DATABASE_URL).username),
    );
    expect(env.BOARDS_DATABASE_OWNER_URL).toBe(expectedUrl(init.owner));
    expect(env.BOARDS_REDIS_URL).toBe(`redis://127.0.0.1:${redisPort}`);
    const config = loadConfig(env);
    expect(config.warnings).toEqual([]);
    expect(config.database.runtimeRole).toBe(apiConfig.database.runtimeRole);

    // Every other PostgreSQL URL of the scenario (the single superuser URL) is the compose one too.
    const superuser = `${postgres.environment?.POSTGRES_USER}:${postgres.environment?.POSTGRES_PASSWORD}`;
    const urls = [...scenario.matchAll(/postgresql:\/\/[^\s`)]+/g)].map((m) => m[0]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) {
      const parsed = new URL(url);
      expect([parsed.host, parsed.pathname]).toEqual([
        `127.0.0.1:${postgresPort}`,
        `/${init.database}`,
      ]);
      if (!Object.hasOwn(init.passwords, parsed.username)) {
        expect(`${parsed.username}:${parsed.password}`).toBe(superuser);
      }
    }
    // The command it names starts the services it needs.
    const started = /`docker compose up -d\s+([a-z ]+)`/.exec(scenario.replace(/\n/g, ' '));
    expect(started?.[1].trim().split(/\s+/).sort()).toEqual(['postgres', 'redis']);
  });

  it('every compose address the docs mention is the one published', () => {
    const mentions = (text: string) =>
      [...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const published = [apiPort, postgresPort, redisPort];

    // docs/deployment.md, "Containers and Kubernetes": the API URL, PostgreSQL and Redis.
    expect(composeBullet).toContain(`<http://127.0.0.1:${apiPort}>`);
    expect(composeBullet).toMatch(new RegExp(`PostgreSQL on 127\\.0\\.0\\.1:${postgresPort}\\b`));
    expect(composeBullet).toMatch(new RegExp(`Redis on 127\\.0\\.0\\.1:${redisPort}\\b`));
    for (const port of mentions(composeBullet)) expect(published).toContain(port);
    // Its curl calls reach the API where it is published.
    for (const url of composeBullet.match(/curl [^`]+/g) ?? []) {
      expect(url).toContain(`http://127.0.0.1:${apiPort}/`);
    }

    // The compose file's own header, and the README's "Deployments at a glance".
    const header = read('docker-compose.yml').split('\nname:')[0];
    expect(header).toContain(`API on http://127.0.0.1:${apiPort}`);
    for (const port of mentions(header)) expect(published).toContain(port);
    const readme = read('README.md');
    const glance = readme.slice(readme.indexOf('Deployments at a glance'));
    expect(glance).toMatch(
      new RegExp(`\`docker compose up[^\`]*\`[^;]*<http://127\\.0\\.0\\.1:${apiPort}>`),
    );
  });
});
