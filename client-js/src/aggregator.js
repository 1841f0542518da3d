/**
 * Aggregates in the page between two sends.
 *
 * add(h, name, labels, value): h = 0 for a counter (value added to the
 * series' `inc`), 1 for a histogram (value appended to its `observations`).
 * A series is the metric name plus its labels; label values are made strings
 * (String(v)); labels that are not an object count as no labels. A value
 * that is not a finite number, and a negative counter increment, are
 * ignored. A histogram series starts a new event every MAX_OBS observations,
 * so an event stays under the server's max_observations_per_event (1000).
 *
 * take(): the events in the wire format of PRODUCT.md
 * ({metricName, metricType, labels, inc} / {..., observations}), in the order
 * their series first appeared; the aggregator starts afresh.
 */
export const MAX_OBS = 500;

export const aggregator = () => {
  let ev = [];
  let open = {};
  return [
    (h, n, l, v) => {
      if (Number.isFinite(v) && (h || v >= 0)) {
        const L = {};
        let k;
        for (k in l) L[k] = '' + l[k];
        let e = open[(k = h + n + JSON.stringify(L))];
        if (!e || (h && e.observations.length >= MAX_OBS)) {
          ev.push((e = open[k] = { metricName: n, metricType: h ? 'histogram' : 'counter', labels: L }));
          h ? (e.observations = []) : (e.inc = 0);
        }
        h ? e.observations.push(v) : (e.inc += v);
      }
    },
    () => {
      const e = ev;
      ev = [];
      open = {};
      return e;
    },
  ];
};
