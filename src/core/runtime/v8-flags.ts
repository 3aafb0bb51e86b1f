import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may grow the old generation between full collections. Under load V8 lets it grow to
 * several times the live heap before a full collection (a server at ~45 MB live reached ~250 MB
 * RSS); growing it by at most 75 % keeps a server with 10,000 active tenants cached under ~190 MB
 * (with the image's --max-semi-space-size=8) for a few per cent of CPU.
 * NODE_OPTIONS=--max-old-space-size still sets the hard ceiling.
 */
export const HEAP_GROWING_PERCENT = 75;

/**
 * The V8 options `boards serve` sets for itself (Node.js refuses most V8 options in NODE_OPTIONS,
 * so the image cannot set them):
 * - the old generation's growing factor (above);
 * - no allocation-site pretenuring. V8 counts, at each young collection, how many objects of each
 *   allocation site are still alive; a site whose objects mostly survive is switched to allocate
 *   in the old generation directly. A request's rows, dates and response objects are all alive
 *   while it is in flight, so under load V8 switched the sites that make them, and every later
 *   request's rows went straight to the old generation: it filled by ~30 MB a second, a full
 *   collection ran every second, and the requests it paused made the reads' p99. Without it they
 *   die young, as they are (docs/performance.md, "Pretenuring").
 */
export const SERVER_V8_FLAGS: readonly string[] = [
  `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
  '--no-allocation-site-pretenuring',
];

/** Sets SERVER_V8_FLAGS in this process (V8 reads both when it next decides, so at any time). */
export function applyServerV8Flags(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
