// Lints planted source texts with the layering rules (eslint.boundaries.mjs) and prints, as JSON,
// the no-restricted-imports and no-restricted-syntax messages of each. Input on stdin: [{ "filePath", "code" }, …].
// Run as a child process by src/architecture.spec.ts (the rules are an ES module; Jest is not).
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { boundaries } from '../../eslint.boundaries.mjs';

const planted = JSON.parse(readFileSync(0, 'utf8'));
const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ...boundaries,
  ],
});
const results = [];
for (const { filePath, code } of planted) {
  const [result] = await eslint.lintText(code, { filePath });
  results.push(
    result.messages
      .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
      .map((m) => m.message),
  );
}
process.stdout.write(JSON.stringify(results));
