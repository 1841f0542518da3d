// The IIFE entry (src/global.js, as in build/pum.js) in a fake window, with
// the seed's snippet unchanged, pum's snippet and a plain script tag.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { fakeEnv, settle } from '../test-support/fake-env.mjs';

const here = new URL('..', import.meta.url).pathname;
// web-vitals cannot run in Node: stub it (as the core size build does)
const stub = {
  name: 'stub',
  setup(b) {
    b.onResolve({ filter: /^web-vitals$/ }, () => ({ path: 'wv', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export const onLCP=()=>{},onINP=onLCP,onCLS=onLCP,onFCP=onLCP,onTTFB=onLCP',
    }));
  },
};
const pumJs = (
  await esbuild.build({
    entryPoints: [here + 'src/global.js'],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    plugins: [stub],
  })
).outputFiles[0].text;

const SEED_SNIPPET = `(function(i,s,o,g,r,a,m){i['PrometheusAggregatorObjectName']=r;i[r]=i[r]||function(){(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),m=s.getElementsByTagName(o)[0];a.async=1;a.src=(g+'/static/aggregatorClient.js');m.parentNode.insertBefore(a,m);i[r].aggregatorServerRoot = g;})(window,document,'script','http://127.0.0.1:8123','prometheusAggregator');
prometheusAggregator('increment', 'usage_total', {browser:'chrome', feature:'quickQuestion'}, 1);
prometheusAggregator('observe', 'firebase_response_time', {firebaseHost:'pd-dev-1.firebaseio.com'}, 0.3);`;

/** A fake window that can run scripts; `inserted` collects the script elements snippets add. */
const page = () => {
  const env = fakeEnv();
  const g = env.g;
  const inserted = [];
  Object.assign(g.document, {
    currentScript: null,
    // like a browser, an element's src reads back resolved against the page
    createElement: (tag) => {
      let src = '';
      return {
        tagName: tag,
        dataset: {},
        get src() {
          return src;
        },
        set src(v) {
          src = new URL(v, 'https://shop.example/app').href;
        },
      };
    },
    getElementsByTagName: () => [{ parentNode: { insertBefore: (el) => inserted.push(el) } }],
    head: { appendChild: (el) => inserted.push(el) },
  });
  Object.assign(g, { URL, TextEncoder, location: { href: 'https://shop.example/app', host: 'shop.example' } });
  vm.createContext(g);
  const run = (code, currentScript = null) => {
    if (g.document) g.document.currentScript = currentScript;
    vm.runInContext(code, g);
    if (g.document) g.document.currentScript = null;
  };
  return { env, g, inserted, run, load: (el) => run(pumJs, el) };
};
const names = (env) => env.sent().map((e) => e.metricName + JSON.stringify(e.labels));

test("the seed's snippet works unchanged: its queue is replayed in order and posts go to <root>/record", async () => {
  const { env, g, inserted, run, load } = page();
  run(SEED_SNIPPET);
  assert.equal(inserted.length, 1);
  assert.equal(inserted[0].src, 'http://127.0.0.1:8123/static/aggregatorClient.js');
  load(inserted[0]);
  assert.equal(typeof g.prometheusAggregator, 'function');
  assert.equal(g.prometheusAggregator.q, undefined, 'the stub is replaced by the real function');
  run("prometheusAggregator('increment', 'usage_total', {browser:'chrome', feature:'quickQuestion'}, 2)");
  run("prometheusAggregator('observe', 'firebase_response_time', {firebaseHost:'pd-dev-1.firebaseio.com'}, 0.5)");
  run("prometheusAggregator('flush')");
  await settle();
  assert.equal(env.posts[0].url, 'http://127.0.0.1:8123/record');
  const ev = env.sent();
  const usage = ev.find((e) => e.metricName == 'usage_total');
  assert.deepEqual(usage, {
    metricName: 'usage_total',
    metricType: 'counter',
    labels: { browser: 'chrome', feature: 'quickQuestion' },
    inc: 3,
  });
  const fb = ev.find((e) => e.metricName == 'firebase_response_time');
  assert.deepEqual(fb.observations, [0.3, 0.5]);
  assert.deepEqual(
    ev.filter((e) => !e.metricName.startsWith('browser_')).map((e) => e.metricName),
    ['usage_total', 'firebase_response_time'],
  );
});

test('queued calls keep their order, and unknown commands are ignored without throwing', async () => {
  const { env, run, inserted, load } = page();
  run(SEED_SNIPPET);
  run("prometheusAggregator('bogus', 'x'); prometheusAggregator(); prometheusAggregator('increment', 'second_total')");
  load(inserted[0]);
  assert.doesNotThrow(() =>
    run("prometheusAggregator('nope', 1, 2, 3); prometheusAggregator('toString'); prometheusAggregator('constructor')"),
  );
  run("prometheusAggregator('flush')");
  await settle();
  assert.deepEqual(
    env
      .sent()
      .filter((e) => !e.metricName.startsWith('browser_'))
      .map((e) => e.metricName),
    ['usage_total', 'firebase_response_time', 'second_total'],
  );
});

test("pum's snippet: options from window[N].o, default name pum", async () => {
  const { env, g, run, inserted, load } = page();
  const html = readFileSync(here + 'snippet.html', 'utf8');
  const code = /<script>([\s\S]*?)<\/script>/.exec(html)[1];
  run(code.replace("url: '/record'", "url: 'https://collect.example/r'").replace('interval: 10000', 'interval: 3000'));
  run("pum('increment', 'usage_total', {feature: 'a'}); pum('observe', 'load_seconds', {}, 1.25)");
  assert.equal(inserted[0].src, 'https://shop.example/pum.js');
  load(inserted[0]);
  assert.equal(typeof g.pum, 'function');
  await env.advance(3000);
  assert.equal(env.posts.length, 1);
  assert.equal(env.posts[0].url, 'https://collect.example/r');
  assert.ok(names(env).includes('usage_total{"feature":"a"}'));
  assert.ok(names(env).includes('load_seconds{}'));
  assert.ok(names(env).includes('browser_page_views_total{}'));
});

test('a plain script tag defines prometheusUserMonitoringClient and posts to /record on its own origin', async () => {
  const { env, g, load } = page();
  load({ src: 'https://cdn.example:8443/assets/pum.js', dataset: {} });
  const c = g.prometheusUserMonitoringClient;
  c.makeCounter('usage_total').increment({ feature: 'a' });
  c.makeCounter('usage_total').increment({ feature: 'a' }, 4);
  c.makeHistogram('rt_seconds').observe(0.2, { host: 'h' });
  await c.flush();
  assert.equal(env.posts[0].url, 'https://cdn.example:8443/record');
  const ev = env.sent();
  assert.equal(ev.find((e) => e.metricName == 'usage_total').inc, 5);
  assert.deepEqual(ev.find((e) => e.metricName == 'rt_seconds').observations, [0.2]);
  assert.equal(g.PrometheusAggregatorObjectName, undefined);
});

test('data attributes set url, interval, heartbeat, api hosts and turn automatic metrics off', async () => {
  const { env, g, load } = page();
  let called = 0;
  const pageFetch = env.g.fetch;
  g.fetch = function (u, i) {
    if (String(u).includes('api.example')) return Promise.resolve({ status: 200 });
    called++;
    return pageFetch(u, i);
  };
  load({
    src: 'https://cdn.example/pum.js',
    dataset: {
      url: 'https://m.example/collect',
      interval: '2000',
      heartbeat: 'false',
      apiHosts: 'api.example,other.example',
      autoOff: 'pageViews,errors',
    },
  });
  g.dispatch('error');
  await g.fetch('https://api.example/x');
  await env.advance(2000);
  assert.equal(called, 1);
  assert.equal(env.posts[0].url, 'https://m.example/collect');
  assert.deepEqual(names(env), [
    'browser_api_request_duration_seconds{"host":"api.example","method":"GET","status_class":"2xx"}',
  ]);
  await env.advance(10000);
  assert.equal(called, 1, 'no heartbeat');
});

test('included twice, pum.js keeps one client and takes over a snippet queue that appeared since', async () => {
  const { env, g, run, load } = page();
  load({ src: 'https://cdn.example/pum.js', dataset: {} });
  const first = g.prometheusUserMonitoringClient;
  run(SEED_SNIPPET.replace(/prometheusAggregator\('observe'[^\n]*/, ''));
  load({ src: 'http://127.0.0.1:8123/static/aggregatorClient.js', dataset: {} });
  assert.equal(g.prometheusUserMonitoringClient, first);
  run("prometheusAggregator('flush')");
  await settle();
  const ev = env.sent();
  assert.equal(
    ev.filter((e) => e.metricName == 'browser_page_views_total').reduce((n, e) => n + e.inc, 0),
    1,
    'one page view',
  );
  assert.equal(ev.find((e) => e.metricName == 'usage_total').inc, 1);
  assert.equal(new Set(env.posts.map((p) => p.json.client)).size, 1);
});

test('pum.js never throws, even on a page without document or window features', () => {
  const { g, run } = page();
  delete g.document;
  assert.doesNotThrow(() => run(pumJs));
  const p2 = page();
  p2.g.PrometheusAggregatorObjectName = 'x';
  p2.g.x = { q: [['increment', 'a'], null, 5, ['observe', 'b', {}, 'NaN']] };
  assert.doesNotThrow(() => p2.load({ src: 'https://cdn.example/pum.js', dataset: {} }));
});
