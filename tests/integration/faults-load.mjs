// Continuous load for the tests that kill processes under it
// (faults.test.mjs, run-local-supervise.test.mjs, tests/deploy/respawn.test.mjs):
// concurrent posters, each a browser tab with its own client id sending pum's
// wire shape {client, seq, events}, one batch at a time, retrying the same
// (client, seq) until it is acknowledged with a 2xx, then moving to seq + 1 —
// what pum.js does. Every batch adds 1 to one counter series of its own
// poster, so the store must end with exactly `acked` in that series.
import { setTimeout as sleep } from 'node:timers/promises';

// POSTs `body` to `url`: the status, or 0 when the connection failed (a
// worker killed mid-request may reset it) or took over `timeoutMs` (a bound
// on hangs: nothing in these tests should take that long).
export async function postStatus(url, body, timeoutMs = 15000) {
  try {
    const r = await fetch(url, {
      method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(timeoutMs),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

// One poster: `labels` picks its series of `metricName` (a counter).
// `url()` is asked before each request (a test may move the server).
export function makePoster({ url, client, labels, metricName = 'usage_total' }) {
  const p = {
    client, labels, metricName, seq: 0, acked: 0, attempts: 0, failures: 0, statuses: {}, stop: false, running: null,
  };
  const body = (seq) => JSON.stringify({ client, seq, events: [{ metricName, metricType: 'counter', labels, inc: 1 }] });
  // Sends batch `p.seq` until a 2xx, at most `deadline`; true when acked.
  p.sendCurrent = async (deadline) => {
    for (;;) {
      const status = await postStatus(url(), body(p.seq));
      p.attempts++;
      p.statuses[status] = (p.statuses[status] || 0) + 1;
      if (status >= 200 && status < 300) {
        p.acked++;
        p.seq++;
        return true;
      }
      p.failures++;
      if (Date.now() > deadline) return false;
      await sleep(5 + Math.random() * 20);
    }
  };
  p.start = () => {
    p.running = (async () => {
      while (!p.stop) {
        if (!await p.sendCurrent(Date.now() + 60000)) throw new Error(`${client}: seq ${p.seq} never acknowledged in 60 s`);
      }
    })();
    return p;
  };
  // Stops after the batch in flight is acknowledged (bounded by the loop's
  // own deadline).
  p.finish = async () => {
    p.stop = true;
    await p.running;
  };
  return p;
}

// Posters over every combination of `values` of the labels (an object of
// label name -> values), at most `n`.
export function makePosters({ url, n, values, metricName = 'usage_total', prefix = 'load' }) {
  const names = Object.keys(values);
  const combos = names.reduce((acc, name) => acc.flatMap((c) => values[name].map((v) => ({ ...c, [name]: v }))), [{}]);
  if (n > combos.length) throw new Error(`only ${combos.length} label combinations for ${n} posters`);
  return combos.slice(0, n).map((labels, i) => makePoster({
    url, labels, metricName, client: `${prefix}-${i}-${Math.random().toString(36).slice(2, 10)}`,
  }));
}

// The statuses of all posters, summed: {"204": n, "502": m, ...}.
export function statusTally(posters) {
  const t = {};
  for (const p of posters) for (const [s, n] of Object.entries(p.statuses)) t[s] = (t[s] || 0) + n;
  return t;
}
