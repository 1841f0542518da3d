// Builds the browser client with esbuild's JS API:
//   <out>/pum.js             minified IIFE (src/global.js, web-vitals included)
//   <out>/pum.spa.js         the IIFE with legacyTiming and routes (src/global.spa.js)
//   <out>/pum.esm.js         ES module (src/index.js, every feature, web-vitals bundled)
//   <out>/pum.core.js        the IIFE with web-vitals replaced by a stub, only
//                            to report the size of pum's own code
//   <out>/snippet.min.html   the first <script> of snippet.html, minified
// Usage: node client-js/build.mjs [outdir] [--quiet]   (default: ../build, the repo's)
// Prints the gzipped sizes (zlib level 9), unless --quiet (npm pack's prepack:
// `npm pack --json` mixes a script's output into its own).
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const out = resolve(args.find((a) => !a.startsWith('--')) || join(here, '..', 'build'));
mkdirSync(out, { recursive: true });

// web-vitals' build has class fields (`class d{t;i=0;o=[]}`), which es2020
// lowers through an Object.defineProperty helper. Read as TypeScript with
// useDefineForClassFields off, they become plain assignments in the
// constructor instead (and fields without a value disappear): the same
// behaviour for these classes (no setters, no subclasses, no `in` checks),
// still es2020 syntax, about 110 bytes less gzipped. Should a new web-vitals
// ever read differently as TypeScript (`a<b>(c)`...), the file is left as
// JavaScript, with a warning.
/** @param {string} contents a web-vitals module, trimmed */
const classFields = async (contents) => {
  if (!/\bclass\b/.test(contents)) return { contents, loader: 'js' };
  const same = {
    target: 'esnext',
    format: 'esm',
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  };
  const [js, ts] = await Promise.all(['js', 'ts'].map((loader) => esbuild.transform(contents, { ...same, loader })));
  if (js.code == ts.code) return { contents, loader: 'ts' };
  return {
    contents,
    loader: 'js',
    warnings: [{ text: 'web-vitals reads differently as TypeScript: class fields left to esbuild' }],
  };
};

// Two versions of web-vitals: build/pum.js bundles 5.3.0 (the npm alias
// web-vitals-5, a devDependency), which has the same five functions for the
// page load and keeps pum.js within its budget (with web-vitals 6 it would
// be 921 bytes gzipped larger: 5,793); pum.spa.js and the ES module
// bundle the package's dependency, web-vitals 6, whose soft-navigation
// support (`reportSoftNavs`, `navigationURL`) routes need for the Web
// Vitals of each soft navigation. pum's adapter (auto/web-vitals.js) reads
// what both versions give alike.
//
// The same hook trims what pum never reads from web-vitals' metric objects
// (pum reads `value` and `entries`, and routes `navigationURL`):
// initMetric() leaves out the name, rating, delta and the navigation type's
// detection, and the reporter no longer rates the value. web-vitals 6 reads
// some of the metric's fields itself (the navigation type it was given, the
// navigation and interaction ids, the id, only compared with itself), so
// its initMetric keeps those. Each replacement must find the text it
// replaces, or the build fails: a new web-vitals is then read again.
const REPORTER = [
  [/\n *metric\.delta = delta;/, ''],
  [/\n *metric\.rating = getRating\(metric\.value, thresholds\);/, ''],
];
const INIT_METRIC = /export const initMetric = [\s\S]*\n\};/;
const TRIM = {
  5: {
    'initMetric.js': [[INIT_METRIC, 'export const initMetric = (name, value = -1) => ({ value, entries: [] });']],
    'bindReporter.js': REPORTER,
  },
  6: {
    'initMetric.js': [
      [
        INIT_METRIC,
        `export const initMetric = (name, value = -1, navigationType, navigationId, navigationInteractionId, navigationURL) => {
  const hard = getNavigationEntry();
  return { value, entries: [], id: {}, navigationType, navigationId: navigationId || hard?.navigationId || 0,
    navigationInteractionId, navigationURL: navigationURL || hard?.name };
};`,
      ],
    ],
    'bindReporter.js': REPORTER,
  },
};
/** @param {5 | 6} major the web-vitals to bundle */
const webVitalsOf = (major) => ({
  name: 'web-vitals-' + major,
  setup(b) {
    const pkg = join(here, 'node_modules', major == 5 ? 'web-vitals-5' : 'web-vitals');
    const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
    if (!version.startsWith(major + '.')) throw new Error(`build.mjs: ${pkg} is ${version}, not ${major}.x`);
    // web-vitals' ES modules (dist/modules/), not its minified bundle, so that TRIM can read them
    b.onResolve({ filter: /^web-vitals$/ }, () => ({ path: join(pkg, 'dist', 'modules', 'index.js') }));
    b.onLoad({ filter: /[\\/]web-vitals(-5)?[\\/]dist[\\/].+\.js$/ }, async (a) => {
      let contents = readFileSync(a.path, 'utf8');
      for (const [re, to] of TRIM[major][basename(a.path)] || []) {
        if (!re.test(contents)) throw new Error(`build.mjs: ${a.path} no longer has ${re}: check TRIM`);
        contents = contents.replace(re, to);
      }
      return classFields(contents);
    });
  },
});

// Properties of pum's own internal objects (queue entries, the aggregator,
// navigation phases), shortened by esbuild like local variables, so the
// source can name them in full. Only names that nothing else uses: not the
// wire format, not the public API (checked against pum.d.ts below), not
// web-vitals, not the DOM. Quoted names ('x' in o, o['x']) are never
// mangled.
const INTERNAL_PROPS = [
  'inFlight',
  'beaconed',
  'take',
  'count',
  'record',
  'durations',
  'total',
  'load',
  'phases',
  // web-vitals' own: an option pum never passes, its visibility watcher's
  // members, the metric's fields that pum does not read
  'reportAllChanges',
  'rating',
  'delta',
  'navigationType',
  'firstHiddenTime',
  'onHidden',
];
const publicTypes = readFileSync(join(here, 'pum.d.ts'), 'utf8');
for (const name of INTERNAL_PROPS) {
  if (new RegExp(`\\b${name}\\??\\s*[:(]`).test(publicTypes))
    throw new Error(`build.mjs: ${name} is public (pum.d.ts): do not mangle it`);
}

const common = {
  bundle: true,
  minify: true,
  // and web-vitals' private members (_sessionValue, _processEntry...)
  mangleProps: new RegExp(`^(${INTERNAL_PROPS.join('|')}|_[a-zA-Z]\\w*)$`),
  // es2021: web-vitals' own build needs es2020 already (optional chaining,
  // ??); es2021 keeps `??=` as it is (Chrome 85, Firefox 79, Safari 14)
  // instead of lowering it to a temporary variable.
  target: 'es2021',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: here,
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
};

const noWebVitals = {
  name: 'no-web-vitals',
  setup(b) {
    b.onResolve({ filter: /^web-vitals$/ }, () => ({ path: 'web-vitals', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      // one no-op under the five names: the stub adds next to nothing to the size
      contents: 'const f=()=>{};export{f as onLCP,f as onINP,f as onCLS,f as onFCP,f as onTTFB}',
    }));
  },
};

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/global.js'],
    format: 'iife',
    outfile: join(out, 'pum.js'),
    plugins: [webVitalsOf(5)],
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/global.spa.js'],
    format: 'iife',
    outfile: join(out, 'pum.spa.js'),
    plugins: [webVitalsOf(6)],
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/index.js'],
    format: 'esm',
    outfile: join(out, 'pum.esm.js'),
    plugins: [webVitalsOf(6)],
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/global.js'],
    format: 'iife',
    outfile: join(out, 'pum.core.js'),
    plugins: [noWebVitals],
  }),
]);

const html = readFileSync(join(here, 'snippet.html'), 'utf8');
const js = /<script>([\s\S]*?)<\/script>/.exec(html)[1];
const min = await esbuild.transform(js, { minify: true, target: 'es5', legalComments: 'none' });
writeFileSync(join(out, 'snippet.min.html'), '<script>' + min.code.trim() + '</script>\n');

const gz = (f) => gzipSync(readFileSync(join(out, f)), { level: 9 }).length;
for (const f of quiet ? [] : ['pum.js', 'pum.spa.js', 'pum.core.js', 'pum.esm.js']) {
  console.log(`${f}: ${readFileSync(join(out, f)).length} bytes, ${gz(f)} gzipped`);
}
