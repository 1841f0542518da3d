// @ts-check

/**
 * @typedef {import('../client.js').Feature} Feature
 */

/**
 * The seed client's page timing (options.legacyTiming), for teams moving
 * from peardeck/prometheus-user-metrics who keep its
 * performanceTimingMetricConfig.json and the dashboards built on it.
 * Exactly as the seed computed it: once, when the client starts (so before
 * the load event, and loadEventStart / loadEventEnd are usually still 0),
 * for every numeric field of performance.timing (Navigation Timing Level 1,
 * the fields of PerformanceTiming.prototype as for...in lists them) that
 * is greater than 0, one observation of the histogram
 * `performance_timing_<field>` with no labels and the value
 * (field - navigationStart) / 1000, in seconds. navigationStart itself is
 * therefore observed as 0. Over HTTPS, secureConnectionStart is > 0 too and
 * is sent as the seed sent it (the seed's allowlist has no such metric; pum
 * rejects it as unknown_metric unless the allowlist adds it).
 *
 * @type {Feature}
 */
export const legacyTiming = (o, recorder, env) => {
  if (!o.legacyTiming) return;
  const timing = /** @type {any} */ (env.performance.timing);
  for (const field in timing) {
    const value = timing[field];
    if (typeof value == 'number' && value > 0) {
      recorder.record('performance_timing_' + field, {}, (value - timing.navigationStart) / 1000);
    }
  }
};
