import assert from 'node:assert/strict';
import test from 'node:test';
import { createClient } from '../src/client.js';
import { backoff, outcome } from '../src/transport.js';
import { fakeEnv, settle } from '../test-support/fake-env.mjs';

// Automatic metrics off unless a test wants them: deliveries stay small.
const quiet = { pageViews: false, pageLoad: false, navigation: false, webVitals: false, errors: false };
const make = (env, o = {}) => createClient({ url: 'https://m.example/record', auto: quiet, ...o }, env.g);
const counterOf = (events, name, labels) =>
  events
    .filter((e) => e.metricName == name && JSON.stringify(e.labels) == JSON.stringify(labels))
    .reduce((n, e) => n + e.inc, 0);

test('one batch is sent per interval, as text with the client id and seqs counting from 0', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.increment('usage_total', { feature: 'a' });
  await env.advance(10000);
  c.observe('rt_seconds', { host: 'x' }, 0.25);
  await env.advance(10000);
  assert.equal(env.posts.length, 2);
  const [a, b] = env.posts;
  assert.equal(a.url, 'https://m.example/record');
  assert.equal(a.init.method, 'POST');
  assert.equal(a.init.keepalive, true);
  assert.equal(typeof a.init.body, 'string'); // text/plain: no CORS preflight
  assert.equal(a.init.headers, undefined);
  assert.match(a.json.client, /^[A-Za-z0-9_-]{1,64}$/);
  assert.equal(b.json.client, a.json.client);
  assert.deepEqual([a.json.seq, b.json.seq], [0, 1]);
  assert.deepEqual(a.json.events, [
    { metricName: 'usage_total', metricType: 'counter', labels: { feature: 'a' }, inc: 1 },
  ]);
  assert.deepEqual(b.json.events, [
    { metricName: 'rt_seconds', metricType: 'histogram', labels: { host: 'x' }, observations: [0.25] },
  ]);
});

test('the interval option sets the period', async () => {
  const env = fakeEnv();
  make(env, { interval: 2000, heartbeat: true });
  await env.advance(10000);
  assert.equal(env.posts.length, 5);
});

test('each page load gets a new random client id', () => {
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const env = fakeEnv();
    const c = make(env);
    c.increment('x');
    c.flush();
    seen.add(env.posts[0].json.client);
  }
  assert.equal(seen.size, 20);
});

test('a heartbeat (empty batch) goes out every interval while the page is visible', async () => {
  const env = fakeEnv();
  make(env);
  await env.advance(30000);
  assert.equal(env.posts.length, 3);
  assert.deepEqual(
    env.posts.map((p) => p.json.events),
    [[], [], []],
  );
  env.hide();
  const n = env.posts.length + env.beacons.length;
  await env.advance(30000);
  assert.equal(env.posts.length + env.beacons.length, n, 'no heartbeat while hidden');
  env.show();
  await env.advance(10000);
  assert.equal(env.posts.length, 4);
});

test('heartbeat: false sends nothing when there is nothing to send', async () => {
  const env = fakeEnv();
  const c = make(env, { heartbeat: false });
  await env.advance(30000);
  assert.equal(env.posts.length, 0);
  c.increment('x');
  await env.advance(10000);
  assert.equal(env.posts.length, 1);
});

test('increment defaults to 1 and no labels', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.increment('a_total');
  c.counter('b_total').increment();
  c.counter('b_total').increment(undefined, 2);
  c.histogram('h').observe(1.5);
  await c.flush();
  assert.deepEqual(env.posts[0].json.events, [
    { metricName: 'a_total', metricType: 'counter', labels: {}, inc: 1 },
    { metricName: 'b_total', metricType: 'counter', labels: {}, inc: 3 },
    { metricName: 'h', metricType: 'histogram', labels: {}, observations: [1.5] },
  ]);
});

test('flush() sends at once and resolves once answered', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.increment('x');
  const p = c.flush();
  assert.equal(env.posts.length, 1);
  assert.equal(await p, undefined);
});

test('a batch without an answer is resent with the same client and seq after a backoff, then the next one', async () => {
  let down = true;
  const env = fakeEnv({ respond: () => (down ? 'network' : 204) });
  const c = make(env, { heartbeat: false });
  c.increment('x', {}, 1);
  await env.advance(10000); // seq 0 fails
  c.increment('x', {}, 2);
  await env.advance(10000); // seq 1 queued, seq 0 retried after backoff
  const seqs = env.posts.map((p) => p.json.seq);
  assert.ok(seqs.length >= 2);
  assert.ok(
    seqs.every((s) => s === 0),
    'only the oldest is tried while failing: ' + seqs,
  );
  down = false;
  await env.advance(70000);
  const okSeqs = env.posts.map((p) => p.json.seq);
  const first = env.posts[0].body;
  assert.ok(
    env.posts.filter((p) => p.json.seq === 0).every((p) => p.body === first),
    'same body each time',
  );
  assert.deepEqual(okSeqs.slice(-2), [0, 1], 'oldest first');
  assert.equal(counterOf(env.sent().slice(-2), 'x', {}), 3);
});

test('retries back off exponentially, with jitter, up to 60 s', async () => {
  for (let n = 0; n < 12; n++) {
    const lo = backoff(n, 0);
    const hi = backoff(n, 0.999999);
    assert.equal(lo, Math.min(1000 * 2 ** n, 60000) / 2);
    assert.ok(hi < Math.min(1000 * 2 ** n, 60000) && hi > lo);
  }
  const env = fakeEnv({ respond: () => 503 });
  const c = make(env, { heartbeat: false, interval: 1e9 });
  c.increment('x');
  await c.flush();
  const times = [];
  for (let i = 0; i < 8; i++) {
    const before = env.posts.length;
    const t0 = env.now;
    while (env.posts.length == before) await env.advance(50);
    times.push(env.now - t0);
  }
  for (let i = 0; i < times.length; i++) {
    const cap = Math.min(1000 * 2 ** i, 60000);
    assert.ok(times[i] >= cap / 2 - 50 && times[i] <= cap + 50, `retry ${i} after ${times[i]} ms`);
  }
});

test('429 and 5xx are retried; 400, 413 and 422 are dropped and counted as send_failed', async () => {
  for (const [status, retried] of [
    [429, true],
    [500, true],
    [503, true],
    [408, true],
    [400, false],
    [413, false],
    [422, false],
    [403, false],
  ]) {
    let first = true;
    const env = fakeEnv({ respond: () => (first ? ((first = false), status) : 204) });
    const c = make(env, { heartbeat: false });
    c.increment('x', {}, 5);
    c.increment('y', {}, 1);
    await c.flush();
    await env.advance(120000);
    c.increment('z');
    await c.flush();
    const seq0 = env.posts.filter((p) => p.json.seq === 0).length;
    const dropped = counterOf(env.sent(), 'browser_client_dropped_events_total', { reason: 'send_failed' });
    if (retried) {
      assert.equal(seq0, 2, `${status} retried`);
      assert.equal(dropped, 0);
    } else {
      assert.equal(seq0, 1, `${status} not retried`);
      assert.equal(dropped, 2, `${status}: both events counted as send_failed`);
    }
  }
});

test('409 (seq older than the server window) is final: dropped, counted as too_old, not retried', async () => {
  let first = true;
  const env = fakeEnv({ respond: () => (first ? ((first = false), 409) : 204) });
  const c = make(env, { heartbeat: false });
  c.increment('x', {}, 5);
  c.increment('y', {}, 1);
  await c.flush();
  await env.advance(120000);
  c.increment('z');
  await c.flush();
  assert.equal(env.posts.filter((p) => p.json.seq === 0).length, 1, 'not retried');
  assert.equal(counterOf(env.sent(), 'browser_client_dropped_events_total', { reason: 'too_old' }), 2);
  assert.equal(counterOf(env.sent(), 'browser_client_dropped_events_total', { reason: 'send_failed' }), 0);
});

test('answers 200 and 204 are both done', async () => {
  for (const s of [200, 204]) {
    const env = fakeEnv({ respond: () => s });
    const c = make(env, { heartbeat: false });
    c.increment('x');
    await c.flush();
    await env.advance(100000);
    assert.equal(env.posts.length, 1);
  }
});

test('the queue is bounded: the oldest batches are dropped and their events counted as queue_full', async () => {
  let down = true;
  const env = fakeEnv({ respond: () => (down ? 503 : 204) });
  const c = make(env, { heartbeat: false, maxQueue: 4 });
  for (let i = 0; i < 10; i++) {
    c.increment('x', { i: String(i) });
    c.increment('y', { i: String(i) });
    await env.advance(10000);
  }
  down = false;
  await c.flush();
  await env.advance(200000);
  const delivered = env.posts.filter((p) => p.status == 204);
  const got = new Set(
    delivered.flatMap((p) => p.json.events.filter((e) => e.metricName == 'x').map((e) => e.labels.i)),
  );
  // 10 batches, at most 4 kept; what fell out is counted.
  const lost = 10 - got.size;
  assert.ok(lost >= 6, `lost ${lost}`);
  const dropped = counterOf(env.sent(), 'browser_client_dropped_events_total', { reason: 'queue_full' });
  assert.equal(dropped, 2 * lost, 'every lost event counted once, the counts of dropped batches carried over');
});

test('maxQueue is capped at 48 to stay inside the server de-duplication window', async () => {
  const env = fakeEnv({ respond: () => 'network' });
  const c = make(env, { heartbeat: false, maxQueue: 1000, auto: { ...quiet, dropped: false } });
  for (let i = 0; i < 60; i++) {
    c.increment('x');
    await env.advance(10000);
  }
  const beacons = [];
  env.g.navigator.sendBeacon = (u, b) => beacons.push(JSON.parse(b)) > 0;
  env.hide();
  const seqs = beacons.map((b) => b.seq);
  assert.ok(seqs.length <= 48, `${seqs.length} queued`);
  assert.ok(Math.max(...seqs) - Math.min(...seqs) < 64);
});

test('a large batch is split into parts under 64 KiB, each with its own seq', async () => {
  const env = fakeEnv();
  const c = make(env);
  for (let i = 0; i < 2000; i++) c.increment('usage_total', { feature: 'feature-' + i, pad: 'x'.repeat(40) });
  await env.advance(10000);
  assert.ok(env.posts.length >= 3);
  for (const p of env.posts) assert.ok(Buffer.byteLength(p.body) < 65536);
  assert.deepEqual(
    env.posts.map((p) => p.json.seq),
    env.posts.map((_, i) => i),
  );
  assert.equal(env.sent().length, 2000);
  c.increment('after');
  await env.advance(10000);
  assert.equal(env.posts.at(-1).json.seq, env.posts.length - 1, 'seqs keep counting after a split');
});

test('when the page is hidden everything goes out at once with sendBeacon', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.increment('x');
  env.hide();
  assert.equal(env.beacons.length, 1);
  assert.equal(env.beacons[0].url, 'https://m.example/record');
  assert.equal(typeof env.beacons[0].body, 'string');
  assert.deepEqual(
    env.beacons[0].json.events.map((e) => e.metricName),
    ['x'],
  );
  assert.equal(env.posts.length, 0);
  env.hide(); // nothing new: nothing sent
  assert.equal(env.beacons.length, 1);
});

test('pagehide sends with sendBeacon too', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.observe('h', {}, 1);
  env.pagehide();
  assert.equal(env.beacons.length, 1);
});

for (const [name, setup] of [
  ['returns false', (env) => (env.beaconResult = false)],
  ['is missing', (env) => delete env.g.navigator.sendBeacon],
  [
    'throws',
    (env) =>
      (env.g.navigator.sendBeacon = () => {
        throw new TypeError('boom');
      }),
  ],
  ['has no navigator', (env) => delete env.g.navigator],
]) {
  test(`when sendBeacon ${name}, hiding falls back to fetch with keepalive`, async () => {
    const env = fakeEnv();
    setup(env);
    const c = make(env);
    c.increment('x');
    env.hide();
    assert.equal(env.posts.length, 1);
    assert.equal(env.posts[0].init.keepalive, true);
    await settle();
    env.show();
    await env.advance(10000);
    assert.equal(counterOf(env.sent(), 'x', {}), 1, 'sent once');
  });
}

test('batches failing at pagehide are kept in sessionStorage and resent first by the next page in the tab', async () => {
  const env = fakeEnv({ respond: () => 'network' });
  env.beaconResult = false;
  const c = make(env);
  c.increment('x', {}, 7);
  await env.advance(10000);
  c.increment('x', {}, 1);
  env.pagehide();
  await settle();
  const old = [...new Set(env.posts.map((p) => p.body))];
  assert.equal(old.length, 2);
  // next page load in the same tab: same sessionStorage, a new client
  const env2 = fakeEnv();
  env2.g.sessionStorage = env.g.sessionStorage;
  const c2 = make(env2);
  c2.increment('y');
  await settle();
  await c2.flush();
  const bodies = env2.posts.map((p) => p.body);
  assert.deepEqual(bodies.slice(0, 2), old, 'old batches first, unchanged (their own client and seq)');
  const own = env2.posts.find((p) => p.json.events.some((e) => e.metricName == 'y'));
  assert.notEqual(own.json.client, env2.posts[0].json.client);
  assert.equal(own.json.seq, 0);
  assert.equal(env.g.sessionStorage.getItem('pum:https://m.example/record'), null, 'taken out of storage');
});

test('a broken sessionStorage changes nothing but the buffer', async () => {
  const env = fakeEnv();
  Object.defineProperty(env.g, 'sessionStorage', {
    get() {
      throw new DOMException('denied', 'SecurityError');
    },
  });
  const c = make(env);
  c.increment('x');
  env.beaconResult = false;
  env.pagehide();
  await settle();
  assert.equal(env.posts.length, 1);
});

test('events dropped are reported in browser_client_dropped_events_total unless auto.dropped is false', async () => {
  const env = fakeEnv({ respond: () => 400 });
  const c = make(env, { heartbeat: false, auto: { ...quiet, dropped: false } });
  c.increment('x');
  await c.flush();
  await c.flush();
  assert.equal(env.posts.length, 1);
});

test('outcome: 2xx done (0), 408/429/5xx/no answer retried (1), 409 too old, other statuses dropped', () => {
  assert.deepEqual(
    [200, 204, 299, 0, 408, 429, 500, 503, 599, 400, 403, 404, 413, 422, 301, 409, 199, 600, undefined].map(outcome),
    [
      0,
      0,
      0,
      1,
      1,
      1,
      1,
      1,
      1,
      'send_failed',
      'send_failed',
      'send_failed',
      'send_failed',
      'send_failed',
      'send_failed',
      'too_old',
      'send_failed',
      1,
      1,
    ],
  );
});

test('a batch already in flight is not sent again when the page is hidden', async () => {
  let answer;
  const env = fakeEnv({ respond: (req) => (req.json.seq === 0 ? new Promise((r) => (answer = r)) : 204) });
  const c = make(env, { heartbeat: false });
  c.increment('x');
  await env.advance(10000); // seq 0 in flight, no answer yet
  c.increment('y');
  env.hide();
  assert.deepEqual(
    env.beacons.map((b) => b.json.seq),
    [1],
  );
  answer(204);
  await settle();
  assert.equal(counterOf(env.sent(), 'x', {}), 1);
});

// Regression: batches handed to sendBeacon during an outage were dropped from
// the queue (a beacon has no answer), so a reload lost them.
test('a beaconed batch is kept: saved at pagehide, not beaconed twice, resent by fetch once visible', async () => {
  const env = fakeEnv();
  const c = make(env);
  c.increment('x', {}, 3);
  env.hide();
  env.pagehide(); // a navigation fires both; the second must not lose or re-beacon
  assert.equal(env.beacons.length, 1, 'beaconed once');
  const saved = JSON.parse(env.g.sessionStorage.getItem('pum:https://m.example/record'));
  assert.deepEqual(
    saved.map((e) => e[0]),
    [env.beacons[0].body],
    'saved for the next page',
  );
  await env.advance(30000);
  assert.equal(env.posts.length, 0, 'no resend while hidden');
  env.show();
  assert.equal(env.g.sessionStorage.getItem('pum:https://m.example/record'), null, 'visible again: not kept');
  await env.advance(10000);
  assert.equal(env.posts[0].body, env.beacons[0].body, 'resent with the same client and seq');
  await env.advance(10000);
  assert.equal(env.posts.filter((p) => p.body == env.beacons[0].body).length, 1, 'acknowledged: done');
});
