// @ts-check
import { createClient as create } from './client.js';
import { legacyTiming } from './auto/legacy-timing.js';
import { routes } from './auto/routes.js';

/**
 * The ES module entry of pum-client: `import { createClient } from
 * 'pum-client'`, with every feature (legacyTiming and routes included).
 *
 * @param {import('../pum.js').Options} [options]
 * @param {import('./client.js').Env} [g] the window (tests pass a fake)
 * @returns {import('../pum.js').Client}
 */
export const createClient = (options, g) => create(options, g, [legacyTiming, routes]);
