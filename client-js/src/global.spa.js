// @ts-check
// The entry of build/pum.spa.js: pum.js with the features most pages do not
// use, legacyTiming and routes (see page.js, auto/legacy-timing.js,
// auto/routes.js).
import { install } from './page.js';
import { legacyTiming } from './auto/legacy-timing.js';
import { routes } from './auto/routes.js';

install([legacyTiming, routes]);
