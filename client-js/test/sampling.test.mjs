import assert from 'node:assert/strict';
import test from 'node:test';
import { body } from '../src/batch.js';
import { createClient } from '../src/client.js';
import { fakeEnv } from '../test-support/fake-env.mjs';

const off = { pageViews: false, pageLoad: false, navigation: false, webVitals: false, errors: false };

test('body() adds "sample" only when N > 1', () => {
  assert.deepEqual(JSON.parse(body('x', 3, ['{"a":1}'], 4)), { client: 'x', seq: 3, sample: 4, events: [{ a: 1 }] });
  for (const n of [1, undefined, 0]) assert.ok(!('sample' in JSON.parse(body('x', 0, [], n))));
});

// A client at `rate` in a session whose stored draw is `draw` (undefined:
// none yet): the batches it posts after one increment and a flush.
const run = async (rate, draw, env = fakeEnv()) => {
  if (draw !== undefined) env.g.sessionStorage.setItem('pum:sample', String(draw));
  const c = createClient({ sampleRate: rate, auto: off }, env.g);
  c.increment('x');
  await c.flush();
  return { env, bodies: env.posts.map((p) => p.json), c };
};

test('a sampled-in session sends "sample": round(1/r) on every batch', async () => {
  for (const [rate, n] of [
    [0.25, 4],
    [0.5, 2],
    [0.3, 3],
    [0.001, 1000],
    [1e-6, 10000],
  ]) {
    const { bodies } = await run(rate, 0);
    assert.equal(bodies.length, 1, `rate ${rate}`);
    assert.equal(bodies[0].sample, n, `rate ${rate}`);
  }
});

test('sampled in when draw x N < 1: the probability is 1/N', async () => {
  assert.equal((await run(0.25, 0.2499)).bodies.length, 1);
  assert.equal((await run(0.25, 0.25)).bodies.length, 0);
  assert.equal((await run(0.3, 0.33)).bodies.length, 1); // N = 3
  assert.equal((await run(0.3, 0.34)).bodies.length, 0);
});

test('a sampled-out page records, listens to and sends nothing', async () => {
  const { env, c } = await run(0.25, 0.9);
  assert.equal(env.g.listeners(), 0, 'no listener');
  assert.equal(env.g.document.listeners(), 0, 'no listener on document');
  c.increment('y');
  env.hide();
  await env.advance(60000);
  assert.deepEqual(env.posts, []);
  assert.deepEqual(env.beacons, []);
});

test('the draw is made once per session and kept in sessionStorage', async () => {
  const env = fakeEnv();
  const first = await run(0.5, undefined, env);
  const draw = env.g.sessionStorage.getItem('pum:sample');
  assert.ok(+draw >= 0 && +draw < 1, draw);
  for (let i = 0; i < 5; i++) {
    const next = fakeEnv();
    next.g.sessionStorage = env.g.sessionStorage;
    const { bodies } = await run(0.5, undefined, next);
    assert.equal(bodies.length, first.bodies.length, 'every page of the session agrees');
  }
  assert.equal(env.g.sessionStorage.getItem('pum:sample'), draw);
});

test('without sessionStorage each page decides for itself', async () => {
  let sampledIn = 0;
  for (let i = 0; i < 400; i++) {
    const env = fakeEnv();
    Object.defineProperty(env.g, 'sessionStorage', {
      get() {
        throw new Error('SecurityError');
      },
    });
    if ((await run(0.25, undefined, env)).bodies.length) sampledIn++;
  }
  // Binomial(400, 1/4): mean 100, sd 8.7
  assert.ok(sampledIn > 60 && sampledIn < 140, `${sampledIn} of 400`);
});

test('invalid rates are ignored: every page sends, without "sample", and nothing is stored', async () => {
  for (const rate of [1, 0, -0.5, 1.5, NaN, Infinity, null, {}, 'x']) {
    const env = fakeEnv();
    const { bodies } = await run(rate, undefined, env);
    assert.equal(bodies.length, 1, `rate ${String(rate)}`);
    assert.ok(!('sample' in bodies[0]), `rate ${String(rate)}`);
    assert.equal(env.g.sessionStorage.getItem('pum:sample'), null);
  }
});
