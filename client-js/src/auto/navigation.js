/**
 * Page load and its phases from a Navigation Timing Level 2 entry
 * (performance.getEntriesByType('navigation')[0]). pum reads it when
 * web-vitals reports TTFB (metric.entries[0]): in a task after the load event,
 * so loadEventEnd is set, and for a prerendered page only after activation.
 *
 * The start b0 is activationStart for a prerendered page, else 0 (the
 * navigation's startTime). Ten more boundaries are taken in this order, each
 * rounded to whole microseconds and clamped to at least the one before it (a
 * missing or zero timestamp therefore equals the previous boundary, and its
 * phase is 0):
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
 * browser_page_load_seconds = b10 - b0: the ten phases (whole microseconds)
 * add up to it exactly, and each is >= 0.
 */
const KEYS =
  'fetchStart domainLookupStart domainLookupEnd connectEnd responseStart responseEnd domInteractive domContentLoadedEventEnd loadEventStart loadEventEnd'.split(
    ' '
  );
export const PHASES = 'redirect cache dns connect request response dom_processing dom_content_loaded subresources load_event'.split(' ');

/** [the ten phases in seconds, in PHASES order, the page load in seconds] for a navigation entry. */
export const phases = (e) => {
  const s = Math.round(e.activationStart * 1e3) || 0;
  let t = s;
  return [KEYS.map((k) => (0 - (t - (t = Math.max(t, Math.round(e[k] * 1e3) || 0)))) / 1e6), (t - s) / 1e6];
};

/**
 * Adds browser_page_load_seconds (when `load`) and the ten
 * browser_navigation_phase_seconds{phase} (when `nav`) for the entry `e`;
 * nothing when there is no entry or its load event has not ended.
 */
export const navigation = (e, add, load, nav) => {
  if (e && e.loadEventEnd > 0) {
    const p = phases(e);
    load && add(1, 'browser_page_load_seconds', 0, p[1]);
    nav && p[0].map((v, i) => add(1, 'browser_navigation_phase_seconds', { phase: PHASES[i] }, v));
  }
};
