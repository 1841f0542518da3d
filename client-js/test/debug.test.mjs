// Debug mode (options.debug): what the server refused is shown with
// console.warn; without it pum.js writes nothing to the console.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createClient } from '../src/client.js';
import { fakeEnv } from '../test-support/fake-env.mjs';

const quiet = { pageViews: false, pageLoad: false, navigation: false, webVitals: false, errors: false };
const URL = 'https://m.example/record';
const make = (env, o = {}) => createClient({ url: URL, auto: quiet, heartbeat: false, ...o }, env.g);

// Two events, the second refused by the server as the allowlist would.
const REJECTED = { accepted: 1, rejected: [{ index: 1, reason: 'unknown_metric' }] };
const record = (c) => {
  c.increment('usage_total', { feature: 'quickQuestion' });
  c.observe('firebase_response_time', { firebaseHost: 'pd-dev-1.firebaseio.com' }, 0.3);
};

test('debug: a 200 with rejections is shown with the answer and the events it indexes', async () => {
  const env = fakeEnv({ respond: () => ({ status: 200, body: JSON.stringify(REJECTED) }) });
  const c = make(env, { debug: true });
  record(c);
  await c.flush();
  await env.advance(0);
  assert.equal(env.warnings.length, 1);
  const [prefix, url, status, answer, events] = env.warnings[0];
  assert.deepEqual([prefix, url, status], ['pum:', URL, 200]);
  assert.deepEqual(answer, REJECTED);
  const refused = events[answer.rejected[0].index];
  assert.equal(refused.metricName, 'firebase_response_time', 'events[index] is the refused event');
  assert.deepEqual(refused.labels, { firebaseHost: 'pd-dev-1.firebaseio.com' });
});

test('debug: a 4xx is shown with its error, or {} when it has no JSON body; 204 and no answer are not', async () => {
  const answers = [
    { status: 400, body: '{"error":"not JSON"}' },
    { status: 403 },
    { status: 413, body: '<html>413 Request Entity Too Large</html>' },
    204,
    'network',
  ];
  for (const answer of answers) {
    const env = fakeEnv({ respond: () => answer });
    const c = make(env, { debug: true });
    record(c);
    await c.flush();
    await env.advance(0);
    c.stop();
    if (answer == 204 || answer == 'network') {
      assert.equal(env.warnings.length, 0, `${answer}: nothing to show`);
      continue;
    }
    assert.equal(env.warnings.length, 1, `${answer.status}: one warning`);
    const [, , status, shown, events] = env.warnings[0];
    assert.equal(status, answer.status);
    assert.deepEqual(shown, answer.status == 400 ? { error: 'not JSON' } : {});
    assert.equal(events.length, 2);
  }
});

test('without debug, nothing is written to the console whatever the answer', async () => {
  for (const answer of [{ status: 200, body: JSON.stringify(REJECTED) }, { status: 400, body: '{}' }, 503, 204]) {
    const env = fakeEnv({ respond: () => answer });
    const c = make(env);
    record(c);
    await c.flush();
    await env.advance(0);
    c.stop();
    assert.equal(env.warnings.length, 0);
  }
});

test('debug: a console that throws changes nothing for the batch', async () => {
  const env = fakeEnv({ respond: () => ({ status: 200, body: JSON.stringify(REJECTED) }) });
  env.g.console = {
    warn() {
      throw new Error('broken console');
    },
  };
  const c = make(env, { debug: true });
  record(c);
  await c.flush();
  await env.advance(20000);
  assert.equal(env.posts.length, 1, 'acknowledged: not sent again');
});
