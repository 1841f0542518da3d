import { createClient } from './client.js';
import { safe } from './safe.js';

/**
 * The IIFE entry (build/pum.js). Three ways in, one client per page:
 *
 * 1. The seed's snippet: window.PrometheusAggregatorObjectName = N, window[N]
 *    a queueing function with .q and .aggregatorServerRoot: posts go to
 *    aggregatorServerRoot + '/record'.
 * 2. pum's snippet (snippet.html): the same, with the options in window[N].o.
 * 3. A plain <script src=".../pum.js">, options in data attributes: data-url,
 *    data-interval (ms), data-heartbeat="false", data-api-hosts (comma
 *    separated), data-auto-off (comma separated: pageViews, pageLoad,
 *    navigation, webVitals, errors, api, dropped). The url defaults to /record
 *    on the origin the script came from.
 *
 * The snippet's options win over the data attributes, key by key at the top
 * level. window[N] becomes the command function (command, name, labels,
 * value) for 'increment' (value defaults to 1), 'observe' and 'flush'
 * (other commands are ignored), and the queued calls are replayed in order.
 * window.prometheusUserMonitoringClient gets makeCounter(name) ->
 * {increment(labels?, by?)}, makeHistogram(name) -> {observe(value,
 * labels?)}, flush(), and the command function as `command`. A second copy
 * of the script reuses the first client (and takes over a snippet queue that
 * appeared since).
 */
safe(() => {
  const w = window;
  const N = w.PrometheusAggregatorObjectName;
  const f = w[N] || 0;
  let c = w.prometheusUserMonitoringClient;
  if (!c) {
    const s = document.currentScript || 0;
    const D = s.dataset || {};
    const auto = {};
    if (D.apiHosts) auto.api = { hosts: D.apiHosts.split(/\s*,\s*/) };
    (D.autoOff || '').split(/\s*,\s*/).map((k) => (auto[k] = false));
    const x = createClient(
      {
        url: f.aggregatorServerRoot ? f.aggregatorServerRoot + '/record' : D.url || (s.src && new URL('/record', s.src).href),
        interval: D.interval,
        heartbeat: D.heartbeat != 'false',
        auto,
        ...f.o,
      },
      w
    );
    c = w.prometheusUserMonitoringClient = {
      makeCounter: x.counter,
      makeHistogram: x.histogram,
      flush: x.flush,
      command: safe((k, n, l, v) => /^(increment|observe|flush)$/.test(k) && x[k](n, l, v)),
    };
  }
  if (N && f != c.command) {
    w[N] = c.command;
    for (const a of f.q || []) c.command(...a);
  }
})();
