/**
 * The entry file of `nest start` and `npm run start:dev` (nest-cli.json `entryFile`): `boards serve`
 * with the environment's configuration, any further arguments passed on.
 */
import { main } from './cli';

main([process.argv[0], process.argv[1], 'serve', ...process.argv.slice(2)]);
