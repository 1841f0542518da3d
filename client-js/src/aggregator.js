// @ts-check

/**
 * @typedef {import('../pum.js').Labels} Labels
 *
 * An event of the wire format (docs: "wire format"): a counter's increment
 * or a histogram's observations, for one series.
 * @typedef {{metricName: string, metricType: 'counter', labels: Record<string, string>, inc: number}} CounterEvent
 * @typedef {{metricName: string, metricType: 'histogram', labels: Record<string, string>, observations: number[]}} HistogramEvent
 * @typedef {CounterEvent | HistogramEvent} MetricEvent
 *
 * Where measurements go: the aggregator, or the client, which drops them
 * once stopped. The types say what callers should pass; the values are
 * checked all the same, since pages call in from untyped code.
 * @typedef {object} Recorder
 * @property {(name: string, labels: Labels | undefined, by: number) => void} count
 *   adds `by` to a counter series
 * @property {(name: string, labels: Labels | undefined, value: number) => void} record
 *   records one observation of a histogram series
 */

/**
 * A histogram series starts a new event every MAX_OBS observations, so that
 * an event stays under the server's max_observations_per_event (1000) even
 * on a page that observes in a tight loop.
 */
export const MAX_OBS = 500;

/**
 * Aggregates in the page between two sends, so that a batch carries one
 * event per series however often the page recorded it.
 *
 * A series is the metric type and name plus its labels; label values are
 * sent as strings. A value that is not a finite number, and a negative
 * counter increment, are ignored: the server would refuse the whole batch
 * for them.
 *
 * take() returns the events in the order their series first appeared and
 * starts afresh.
 *
 * @returns {Recorder & {take(): MetricEvent[]}}
 */
export const createAggregator = () => {
  /** @type {MetricEvent[]} */
  let events = [];
  /**
   * the event each series currently adds to, by series key (which starts
   * with the type: never a property of Object.prototype)
   * @type {Record<string, any>}
   */
  let open = {};

  /**
   * One generic add for both types: `counter` true for a counter's
   * increment, false for a histogram's observation.
   *
   * @param {boolean} counter
   * @param {string} name
   * @param {unknown} labels
   * @param {number} value
   */
  const add = (counter, name, labels, value) => {
    if (!Number.isFinite(value) || (counter && value < 0)) return;
    /** @type {Record<string, string>} */
    const strings = {};
    // for...in: any object's enumerable keys; nothing for null or a number
    for (const key in /** @type {any} */ (labels)) strings[key] = '' + /** @type {any} */ (labels)[key];
    const type = counter ? 'counter' : 'histogram';
    const key = type + name + JSON.stringify(strings);
    let event = open[key];
    if (!event || event.observations?.length >= MAX_OBS) {
      event = open[key] = { metricName: name, metricType: type, labels: strings };
      if (counter) event.inc = 0;
      else event.observations = [];
      events.push(event);
    }
    if (counter) event.inc += value;
    else event.observations.push(value);
  };

  return {
    count: add.bind(null, true),
    record: add.bind(null, false),
    take() {
      const taken = events;
      events = [];
      open = {};
      return taken;
    },
  };
};
