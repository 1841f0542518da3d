// The package as npm would publish it: `npm pack` (which builds dist/ on
// prepack), unpacked into a consumer project's node_modules, must be
// importable by a bundler and type-check with its own types. No network:
// web-vitals, the one dependency, is linked from client-js/node_modules
// (`npm install` of the file: dependency would resolve it from the registry).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { fakeEnv } from '../test-support/fake-env.mjs';

const here = new URL('..', import.meta.url).pathname;
const tsc = join(here, 'node_modules', '.bin', 'tsc');
let tmp;
let app;
let packed;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pum-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: here,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  packed = JSON.parse(out)[0];
  app = join(tmp, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, packed.filename), '-C', tmp]);
  renameSync(join(tmp, 'package'), join(app, 'node_modules', 'pum-client'));
  symlinkSync(join(here, 'node_modules', 'web-vitals'), join(app, 'node_modules', 'web-vitals'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { 'pum-client': 'file:../package' } }),
  );
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('npm pack ships the sources, the built files and the types, nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of [
    'package.json',
    'LICENSE',
    'README.md',
    'pum.d.ts',
    'snippet.html',
    'src/index.js',
    'src/client.js',
    'src/global.js',
    'src/global.spa.js',
    'src/auto/routes.js',
    'src/auto/legacy-timing.js',
    'src/auto/web-vitals.js',
    'dist/pum.js',
    'dist/pum.spa.js',
    'dist/pum.esm.js',
    'dist/snippet.min.html',
  ]) {
    assert.ok(files.includes(f), `${f} is in the package: ${files.join(' ')}`);
  }
  const stray = files.filter((f) => /^(test|test-support|node_modules)\/|^build\.mjs$|^tsconfig|core\.js$/.test(f));
  assert.deepEqual(stray, [], 'no tests, build scripts or size-report files');
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'pum-client', 'package.json'), 'utf8'));
  assert.equal(pkg.private, undefined, 'publishable');
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.exports['.'].types, './pum.d.ts');
});

test('a bundler imports pum-client, web-vitals included, and the bundle works', async () => {
  writeFileSync(
    join(app, 'main.js'),
    `import { createClient } from 'pum-client';
export const run = (g) => {
  const c = createClient({ url: '/record', heartbeat: false, auto: { pageViews: false, webVitals: false, errors: false } }, g);
  c.counter('usage_total').increment({ feature: 'a' }, 2);
  return c.flush().then(() => c.stop());
};
`,
  );
  const r = await esbuild.build({
    absWorkingDir: app,
    entryPoints: ['main.js'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const code = r.outputFiles[0].text;
  assert.match(code, /largest-contentful-paint/, 'web-vitals is bundled from the dependency');
  const bundle = join(app, 'bundle.mjs');
  writeFileSync(bundle, code);
  const env = fakeEnv();
  await (await import(bundle)).run(env.g);
  assert.deepEqual(
    env.posts.map((p) => p.json.events),
    [[{ metricName: 'usage_total', metricType: 'counter', labels: { feature: 'a' }, inc: 2 }]],
  );
  // the subpaths resolve too: the IIFE to serve, and the prebuilt module
  const sub = await esbuild.build({
    absWorkingDir: app,
    stdin: { contents: "import 'pum-client/pum.js'; export * from 'pum-client/pum.esm.js';", resolveDir: app },
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.match(sub.outputFiles[0].text, /prometheusUserMonitoringClient/);
});

const tsconfig = (files) =>
  JSON.stringify({
    compilerOptions: {
      target: 'es2020',
      module: 'esnext',
      moduleResolution: 'bundler',
      lib: ['es2022', 'dom'],
      strict: true,
      noEmit: true,
      types: [],
    },
    files,
  });
const typecheck = (name, source) => {
  writeFileSync(join(app, name + '.ts'), source);
  writeFileSync(join(app, `tsconfig.${name}.json`), tsconfig([name + '.ts']));
  return spawnSync(tsc, ['-p', `tsconfig.${name}.json`], { cwd: app, encoding: 'utf8' });
};

test('its types accept the documented API', () => {
  const r = typecheck(
    'good',
    `import { createClient, type Client, type Options, type Labels } from 'pum-client';
const options: Options = { url: '/record', interval: 5000, heartbeat: false, maxQueue: 16,
  auto: { pageViews: false, webVitals: true, api: { hosts: ['api.example.com'] }, dropped: true } };
const c: Client = createClient(options);
createClient();
const labels: Labels = { feature: 'a', code: 200, ok: true };
c.counter('usage_total').increment(labels, 2);
c.counter('usage_total').increment();
c.histogram('rt_seconds').observe(0.3, { host: 'x' });
c.increment('usage_total');
c.observe('rt_seconds', undefined, 1.5);
const done: Promise<void> = c.flush();
c.stop();
const g = window.prometheusUserMonitoringClient;
if (g) {
  g.makeCounter('usage_total').increment({ browser: 'chrome' });
  g.makeHistogram('rt_seconds').observe(0.2);
  g.command('observe', 'rt_seconds', {}, 0.1);
  void g.flush().then(() => done);
}
window.prometheusAggregator?.('increment', 'usage_total', { feature: 'quickQuestion' }, 1);
window.prometheusAggregator?.('observe', 'firebase_response_time', { firebaseHost: 'x' }, 0.3);
window.prometheusAggregator?.('flush');
const name: string | undefined = window.PrometheusAggregatorObjectName;
void name;
`,
  );
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

test('its types reject misuse, each line of it', () => {
  const lines = [
    `import { createClient } from 'pum-client';`,
    `const c = createClient({ interval: '10s' });`,
    `createClient({ auto: { api: { hosts: 'api.example.com' } } });`,
    `createClient({ urll: '/record' });`,
    `c.counter('x').increment({ feature: {} });`,
    `c.histogram('x').observe('0.3');`,
    `c.observe('x', 0.3);`,
    `const n: number = c.flush();`,
    `c.gauge('x');`,
    `window.prometheusAggregator?.('set', 'x', {}, 1);`,
    `window.prometheusAggregator?.('observe', 'x', {});`,
    `window.prometheusUserMonitoringClient?.makeGauge('x');`,
  ];
  const r = typecheck('bad', lines.join('\n') + '\nvoid n;\n');
  assert.notEqual(r.status, 0, 'tsc accepted misuse');
  const failing = new Set([...r.stdout.matchAll(/^bad\.ts\((\d+),\d+\): error TS/gm)].map((m) => +m[1]));
  const expected = lines.map((_, i) => i + 1).slice(1);
  assert.deepEqual(
    expected.filter((l) => !failing.has(l)).map((l) => lines[l - 1]),
    [],
    `lines tsc accepted:\n${r.stdout}`,
  );
});

test("the package's LICENSE is the repository's", () => {
  const here = new URL('..', import.meta.url).pathname;
  assert.equal(readFileSync(join(here, 'LICENSE'), 'utf8'), readFileSync(join(here, '..', 'LICENSE'), 'utf8'));
});
