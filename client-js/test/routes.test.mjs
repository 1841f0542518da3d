import assert from 'node:assert/strict';
import test from 'node:test';
import { legacyTiming } from '../src/auto/legacy-timing.js';
import { OTHER, router, routes } from '../src/auto/routes.js';
import { createClient } from '../src/client.js';
import { fakeEnv, recorder } from '../test-support/fake-env.mjs';

const O = 'https://example.com';

test('route normalisation: patterns, in order, against the path (or the hash for #patterns)', () => {
  const route = router(['/', '/users/:id', '/users/:id/posts/:post', '/docs/*', '#/settings/:tab', '/a.b']);
  const table = [
    ['/', '/'],
    ['/?q=1', '/'],
    ['/users/42', '/users/:id'],
    ['/users/42/', '/users/:id'],
    ['/users/jane%20doe?tab=x#top', '/users/:id'],
    ['/users/', OTHER],
    ['/users', OTHER],
    ['/users/42/posts/7', '/users/:id/posts/:post'],
    ['/users/42/posts', OTHER],
    ['/docs/', '/docs/*'],
    ['/docs/a/b/c.html', '/docs/*'],
    ['/docs', '/docs/*'],
    ['/docsx', OTHER],
    ['/app#/settings/profile', '#/settings/:tab'],
    ['/app#/settings/profile?x=1', '#/settings/:tab'],
    ['/app#/settings', OTHER],
    ['/a.b', '/a.b'],
    ['/aXb', OTHER],
    ['/nothing/here', OTHER],
  ];
  for (const [path, want] of table) assert.equal(route(O + path), want, path);
});

test('a route function: its string, else other (a throw, an empty string, a non-string)', () => {
  assert.equal(router((u) => u.pathname.split('/')[1] || 'home')(O + '/shop/9'), 'shop');
  assert.equal(router((u) => u.pathname.split('/')[1] || 'home')(O + '/'), 'home');
  for (const fn of [
    () => '',
    () => null,
    () => 7,
    () => undefined,
    () => {
      throw new Error('x');
    },
  ]) {
    assert.equal(router(fn)(O + '/x'), OTHER);
  }
});

test('no pattern matches: other; a bad pattern list is harmless', () => {
  assert.equal(router([])(O + '/x'), OTHER);
  assert.equal(router('/x')(O + '/x'), '/x');
  assert.equal(router(['/(a)[b]+', '/$^'])(O + '/(a)[b]+'), '/(a)[b]+');
});

test('legacyTiming: every numeric performance.timing field > 0, seconds from navigationStart, labels {}', () => {
  const timing = Object.create({
    navigationStart: 1000,
    unloadEventStart: 0,
    fetchStart: 1005,
    domLoading: 1250.5,
    loadEventStart: 0,
    toJSON() {},
  });
  timing.responseEnd = 1200;
  const got = [];
  legacyTiming({ legacyTiming: true }, recorder(got), { performance: { timing } });
  assert.deepEqual(
    got.sort(),
    [
      ['observe', 'performance_timing_domLoading', {}, 0.2505],
      ['observe', 'performance_timing_fetchStart', {}, 0.005],
      ['observe', 'performance_timing_navigationStart', {}, 0],
      ['observe', 'performance_timing_responseEnd', {}, 0.2],
    ].sort(),
  );
  const none = [];
  legacyTiming({}, recorder(none), { performance: { timing } });
  assert.deepEqual(none, []);
});

// A window with a history that moves a fake location.
const spaEnv = () => {
  const env = fakeEnv();
  const loc = new URL('https://example.com/');
  env.g.location = loc;
  const move = (u) => {
    const next = new URL(u, loc.href);
    loc.pathname = next.pathname;
    loc.search = next.search;
    loc.hash = next.hash;
  };
  env.g.history = { pushState: (s, t, u) => move(u), replaceState: (s, t, u) => move(u) };
  return { env, move };
};
const counted = (env) =>
  Object.fromEntries(
    env
      .sent()
      .filter((e) => e.metricName == 'browser_soft_navigations_total')
      .map((e) => [e.labels.route, e.inc]),
  );

test('routes: pushState, replaceState (a new path only), popstate and hashchange, once per URL change', async () => {
  const { env, move } = spaEnv();
  const original = env.g.history.pushState;
  const c = createClient({ routes: ['/users/:id', '/docs/*'], auto: { pageViews: false, errors: false } }, env.g, [
    routes,
  ]);
  const h = env.g.history;
  h.pushState(null, '', '/users/1');
  h.pushState(null, '', '/users/1'); // same URL
  h.replaceState(null, '', '/users/1?tab=2'); // same path
  h.replaceState(null, '', '/docs/a');
  move('/docs/a#x');
  env.g.dispatch('popstate');
  env.g.dispatch('hashchange'); // the same change
  move('/zzz');
  env.g.dispatch('popstate');
  await c.flush();
  assert.deepEqual(counted(env), { '/users/:id': 1, '/docs/*': 2, other: 1 });
  c.stop();
  assert.equal(env.g.history.pushState, original, 'stop() puts pushState back');
});

test('routes: nothing without the option, and history untouched', async () => {
  const { env } = spaEnv();
  const original = env.g.history.pushState;
  const c = createClient({ auto: { pageViews: false, errors: false } }, env.g, [routes]);
  assert.equal(env.g.history.pushState, original);
  env.g.history.pushState(null, '', '/users/1');
  env.g.dispatch('popstate');
  await c.flush();
  assert.deepEqual(counted(env), {});
});
