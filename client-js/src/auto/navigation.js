// @ts-check

/**
 * Page load and its phases from a Navigation Timing Level 2 entry
 * (performance.getEntriesByType('navigation')[0]). pum reads it when
 * web-vitals reports TTFB (metric.entries[0]): that happens in a task after
 * the load event, so loadEventEnd is set, and for a prerendered page only
 * after activation.
 *
 * The start b0 is activationStart for a prerendered page, else 0 (the
 * navigation's startTime): time spent prerendering is not time the user
 * waited. Ten more boundaries are taken in this order, each rounded to whole
 * microseconds and clamped to at least the one before it (a missing or zero
 * timestamp therefore equals the previous boundary, and its phase is 0):
 *
 *   b1  fetchStart                redirect           b1 - b0   redirects, unload of the previous page, service worker start-up
 *   b2  domainLookupStart         cache              b2 - b1   HTTP cache lookup
 *   b3  domainLookupEnd           dns                b3 - b2
 *   b4  connectEnd                connect            b4 - b3   TCP and TLS
 *   b5  responseStart             request            b5 - b4   request sent until the first byte
 *   b6  responseEnd               response           b6 - b5
 *   b7  domInteractive            dom_processing     b7 - b6
 *   b8  domContentLoadedEventEnd  dom_content_loaded b8 - b7   deferred scripts and DOMContentLoaded handlers
 *   b9  loadEventStart            subresources       b9 - b8   images, iframes, async scripts...
 *   b10 loadEventEnd              load_event         b10 - b9
 *
 * browser_page_load_seconds = b10 - b0. Whole microseconds make the ten
 * phases add up to it exactly (no floating-point drift), and the clamping
 * keeps each >= 0, so a stacked chart of the phases is the page load.
 */

/** @typedef {import('../aggregator.js').Recorder} Recorder */

/** The boundaries b1..b10, in order. */
const BOUNDARIES = /** @type {const} */ ([
  'fetchStart',
  'domainLookupStart',
  'domainLookupEnd',
  'connectEnd',
  'responseStart',
  'responseEnd',
  'domInteractive',
  'domContentLoadedEventEnd',
  'loadEventStart',
  'loadEventEnd',
]);

/** The phase label of each boundary's phase, in the same order. */
export const PHASES = [
  'redirect',
  'cache',
  'dns',
  'connect',
  'request',
  'response',
  'dom_processing',
  'dom_content_loaded',
  'subresources',
  'load_event',
];

/**
 * @typedef {Partial<Record<(typeof BOUNDARIES)[number] | 'activationStart', number>>} NavigationEntry
 *   the timestamps read (ms since the navigation started); others are ignored
 */

/** @param {number | undefined} ms */
const microseconds = (ms) => Math.round(/** @type {number} */ (ms) * 1000) || 0;

/**
 * The ten phases in seconds (PHASES order) and the page load in seconds:
 * what navigation() records, collected (the tests' view of it). An entry
 * whose load event has not ended has none: no durations, a total of 0.
 *
 * @param {NavigationEntry} entry
 * @returns {{durations: number[], total: number}}
 */
export function phases(entry) {
  const durations = /** @type {number[]} */ ([]);
  let total = 0;
  navigation(
    entry,
    { count() {}, record: (_, labels, value) => (labels?.phase ? durations.push(value) : (total = value)) },
    true,
    true,
  );
  return { durations, total };
}

/**
 * Records browser_page_load_seconds (when `load`) and the ten
 * browser_navigation_phase_seconds{phase} (when `phases`) for the
 * entry; nothing when there is no entry or its load event has not ended
 * (the phases would not add up to a page load).
 *
 * @param {NavigationEntry | undefined} entry
 * @param {Recorder} recorder
 * @param {boolean} load
 * @param {boolean} want the phases
 */
export const navigation = (entry, recorder, load, want) => {
  if (/** @type {number} */ (entry?.loadEventEnd) > 0) {
    const start = microseconds(/** @type {NavigationEntry} */ (entry).activationStart);
    let previous = start;
    BOUNDARIES.forEach((key, i) => {
      const boundary = Math.max(previous, microseconds(/** @type {NavigationEntry} */ (entry)[key]));
      if (want) recorder.record('browser_navigation_phase_seconds', { phase: PHASES[i] }, (boundary - previous) / 1e6);
      previous = boundary;
    });
    if (load) recorder.record('browser_page_load_seconds', {}, (previous - start) / 1e6);
  }
};
