import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every runtime dependency is used and has a reason a maintainer can find
 * (docs/adr/0002-dependencies.md): an unused one only makes the image larger.
 */

const ROOT = join(__dirname, '..');

/** Peer dependencies of packages we import: used by them, never imported by our code. */
const PEERS: Record<string, string> = {
  '@fastify/static': '@nestjs/swagger',
  'pino-http': 'nestjs-pino',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const dependencies = Object.keys(packageJson.dependencies);
const code = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'migrations'))]
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');
const reasons = readFileSync(join(ROOT, 'docs/adr/0002-dependencies.md'), 'utf8');

/** Whether the code imports `name` (or a subpath of it). */
function imported(name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`(?:from |import |require\\()'${escaped}(?:/[^']*)?'`).test(code);
}

describe('runtime dependencies', () => {
  it.each(dependencies)('%s is imported by the code, or is the peer of one that is', (name) => {
    const peerOf = PEERS[name];
    if (peerOf) {
      expect(dependencies).toContain(peerOf);
      expect(imported(peerOf)).toBe(true);
    } else {
      expect(imported(name)).toBe(true);
    }
  });

  it.each(dependencies)('%s has its reason in docs/adr/0002-dependencies.md', (name) => {
    expect(reasons).toContain(`\`${name}\``);
  });
});
