import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT = /^(?:import|export)\s+(?:type\s+)?[^'";]*?from\s+'([^']+)'/gms;

/** Every .ts file under `dir` (specs excluded: they may import anything). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

/**
 * The import circles among the project's source files under `root/src`, type-only imports
 * included: each circle as its files (relative to `root`). Resolves `src/…` and relative paths.
 */
export function importCircles(root: string): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of sources(join(root, 'src'))) {
    const targets: string[] = [];
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const base = spec.startsWith('src/')
        ? join(root, spec)
        : spec.startsWith('.')
          ? resolve(dirname(file), spec)
          : undefined;
      const target = base && [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
      if (target) targets.push(target);
    }
    graph.set(file, targets);
  }
  // Tarjan's strongly connected components: a component of more than one file is a circle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(relative(root, member));
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) circles.push(component);
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return circles;
}
