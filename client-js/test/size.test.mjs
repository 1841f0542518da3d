// The size budget of build/pum.js (BUILD, default build/, from the repository
// root): at most 5120 bytes gzipped (zlib level 9) with web-vitals included.
// Also reports the core without web-vitals (build/pum.core.js). Run `make`
// (or `node client-js/build.mjs`) first.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test from 'node:test';
import { gzipSync } from 'node:zlib';

// PUM_SIZE_BUDGET overrides the budget (bytes), e.g. to try another one.
const BUDGET = +process.env.PUM_SIZE_BUDGET || 5120;
const root = resolve(new URL('../..', import.meta.url).pathname);
const dir = resolve(root, process.env.BUILD || 'build');
const gz = (f) => gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;

test(`build/pum.js is at most ${BUDGET} bytes gzipped with web-vitals included`, (t) => {
  assert.ok(existsSync(join(dir, 'pum.js')), `${dir}/pum.js is missing: run make`);
  const total = gz('pum.js');
  t.diagnostic(`pum.js: ${readFileSync(join(dir, 'pum.js')).length} bytes, ${total} gzipped (budget ${BUDGET})`);
  if (existsSync(join(dir, 'pum.core.js'))) {
    t.diagnostic(
      `core without web-vitals (pum.core.js): ${readFileSync(join(dir, 'pum.core.js')).length} bytes, ${gz('pum.core.js')} gzipped`,
    );
  }
  assert.ok(total <= BUDGET, `pum.js is ${total} bytes gzipped, over the budget of ${BUDGET}`);
});
