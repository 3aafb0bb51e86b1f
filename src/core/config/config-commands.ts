import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { progress } from 'src/common/cli-output';
import { renderReference, withReference } from './config-docs';

/**
 * `boards config docs`: the variable reference generated from the table (config-variables.ts),
 * printed, or written into a document between its marker lines (`--update docs/configuration.md`,
 * which is what `npm run docs:config` runs). Needs no configuration.
 */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the BOARDS_* configuration');
  config
    .command('docs')
    .description(
      'print the variable reference (Markdown tables), or rewrite it in a document between its markers',
    )
    .option('--update <file>', 'rewrite the generated section of this Markdown file')
    .action((options: { update?: string }) => {
      const reference = renderReference();
      if (!options.update) {
        process.stdout.write(reference);
        return;
      }
      const before = readFileSync(options.update, 'utf8');
      const after = withReference(before, reference);
      if (after === before) {
        progress(`${options.update} is up to date`);
      } else {
        writeFileSync(options.update, after);
        progress(`updated ${options.update}`);
      }
    });
}
