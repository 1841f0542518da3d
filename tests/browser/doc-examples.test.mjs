// Every example of the documentation (README.md, docs/*.md,
// client-js/README.md), run against the real stack with the shipped
// allowlist (conf/metrics.d) plus the allowlist files the documentation
// tells the reader to add:
//   - each ```json block with "allowedMetrics" passes
//     `pum-exporter --check-config` next to the shipped files;
//   - each event of a ```json block, and the body of each
//     `curl --data '...'` of a ```sh block, POSTed to /record: 204, except
//     the examples of a refused event (the seed's firebase_response_time,
//     which the docs show refused): 200 with unknown_metric;
//   - each ```html block and ```ts block (the ES module, imported from
//     /pum.esm.js) as a page in Chromium: every /record answer is 204, no
//     rejection is counted, usage_total grows, and nothing is written to
//     the console (the debug examples included).
// So the examples and the shipped allowlist cannot drift apart again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { closePage, expectMetrics, openPage, sleep, useBrowserStack } from './browser.mjs';
import { EXPORTER_BIN, REPO, SHIPPED_METRICS_DIR, run, sumOf } from '../integration/stack.mjs';

const T = { timeout: 90000 };

// The event the docs show refused: the seed's own name of the example
// histogram, which the shipped example.json calls
// firebase_response_time_seconds{firebase_host}.
const REFUSED = 'firebase_response_time';

function docPages() {
  const docs = fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`), 'client-js/README.md'];
}

// [{page, lang, code}] of every fenced block.
function blocks() {
  const out = [];
  for (const page of docPages()) {
    const text = fs.readFileSync(path.join(REPO, page), 'utf8');
    for (const m of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) out.push({ page, lang: m[1], code: m[2] });
  }
  return out;
}

// The JSON values of a text that holds one or more of them one after the
// other (`{...}\n{...}`, as the docs show two events).
function jsonValues(text) {
  const out = [];
  let rest = text.trim();
  while (rest) {
    let end = 0;
    let depth = 0;
    let inString = false;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          end = i + 1;
          break;
        }
      }
    }
    if (!end) throw new Error(`not JSON: ${rest.slice(0, 80)}`);
    out.push(JSON.parse(rest.slice(0, end)));
    rest = rest.slice(end).trim();
  }
  return out;
}

const eventsOf = (body) => (Array.isArray(body) ? body : body.events);

const all = blocks();
const allowlists = [];
for (const b of all.filter((b) => b.lang === 'json' && b.code.includes('"allowedMetrics"'))) {
  const text = JSON.stringify(JSON.parse(b.code));
  if (!allowlists.some((a) => a.text === text)) allowlists.push({ ...b, text });
}
const eventBlocks = all.filter((b) => b.lang === 'json' && b.code.includes('"metricName"'));
const curlBodies = all
  .filter((b) => b.lang === 'sh')
  .flatMap((b) => [...b.code.matchAll(/curl [^\n]*--data(?:-binary)? '([^']*)'/g)].map((m) => ({ page: b.page, body: m[1] })));
const pageExamples = all.filter((b) => b.lang === 'html' || b.lang === 'ts');

function metricsDir() {
  const files = {};
  for (const f of fs.readdirSync(SHIPPED_METRICS_DIR).filter((f) => f.endsWith('.json'))) {
    files[f] = fs.readFileSync(path.join(SHIPPED_METRICS_DIR, f), 'utf8');
  }
  allowlists.forEach((a, i) => (files[`docs-${i}.json`] = a.code));
  return files;
}

// A page for an example: the seed's snippet gets the stack's root in place
// of https://www.example.com; the ES module imports /pum.esm.js.
function pageFor(ex, root) {
  const body =
    ex.lang === 'ts'
      ? `<script type="module">\n${ex.code.replace(/from 'pum-client'/g, "from '/pum.esm.js'")}</script>`
      : ex.code.replace(/'https:\/\/www\.example\.com'/g, `'${root}'`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>doc example</title><link rel="icon" href="data:,">
${body}
</head><body><h1>doc example</h1><p style="font-size: 20px">Text to paint, so that the Web Vitals have something to report.</p></body></html>
`;
}

describe('the documentation examples against the shipped allowlist', () => {
  const ref = useBrowserStack({ before, after }, { metrics: metricsDir() });

  it('found the examples', () => {
    assert.ok(allowlists.length >= 1, 'the allowlist example of the tour');
    assert.ok(eventBlocks.length >= 1, 'the events of the wire format');
    assert.ok(curlBodies.length >= 4, `curl examples: ${curlBodies.length}`);
    assert.ok(pageExamples.length >= 5, `html and ts examples: ${pageExamples.length}`);
  });

  it('each allowlist example passes pum-exporter --check-config next to the shipped files', T, async () => {
    const { s } = ref;
    const r = await run(EXPORTER_BIN, ['--check-config', `--metrics.dir=${s.metricsDir}`, `--storage.path=${s.dir}/check.db`]);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  });

  it('each event example and curl body is applied (204), the refused example refused', T, async () => {
    const { s } = ref;
    const bodies = [
      ...eventBlocks.flatMap((b) => jsonValues(b.code).map((event) => ({ page: b.page, body: [event] }))),
      ...curlBodies.map((c) => ({ page: c.page, body: JSON.parse(c.body) })),
    ];
    for (const { page, body } of bodies) {
      const refused = eventsOf(body)
        .map((e, index) => ({ index, reason: 'unknown_metric', name: e.metricName }))
        .filter((e) => e.name === REFUSED);
      const r = await s.post(JSON.stringify(body));
      const what = `${page}: ${JSON.stringify(body).slice(0, 160)}`;
      if (!refused.length) {
        assert.equal(r.status, 204, `${what}: ${r.status} ${r.text}`);
      } else {
        assert.equal(r.status, 200, what);
        assert.deepEqual(r.json.rejected, refused.map(({ index, reason }) => ({ index, reason })), what);
      }
    }
  });

  for (const [i, ex] of pageExamples.entries()) {
    const first = ex.code.split('\n').find((l) => /\S/.test(l) && !/^<\/?script>$/.test(l.trim())) || '';
    it(`${ex.page} ${ex.lang} example ${i + 1} (${first.trim().slice(0, 50)}) in Chromium: all accepted`, T, async (tc) => {
      const { s, browser } = ref;
      const base = await s.series();
      const url = s.writePage(`example-${i}.html`, pageFor(ex, s.url('')));
      const t = await openPage(browser, tc);
      await t.page.goto(url, { waitUntil: 'load' });
      if (ex.lang === 'ts') {
        // the module flushes and stops its client by itself
        const deadline = Date.now() + 10000;
        while (!t.records.some((r) => typeof r.status === 'number') && Date.now() < deadline) await sleep(100);
      } else {
        await t.page.waitForFunction(() => window.prometheusUserMonitoringClient, null, { timeout: 10000 });
      }
      await sleep(500);
      await closePage(t);
      const usage = (m) => sumOf(m, 'usage_total') - sumOf(base, 'usage_total');
      const rejected = (m) => sumOf(m, 'pum_ingest_events_rejected_total') - sumOf(base, 'pum_ingest_events_rejected_total');
      await expectMetrics(s, [
        ['usage_total grew', usage, (v) => v >= 1],
        ['no event rejected', rejected, 0],
      ], { settleMs: 500 });
      // (an example without flush sends with sendBeacon as the page closes:
      // no answer to see, the metrics above tell)
      const answered = t.records.filter((r) => typeof r.status === 'number');
      assert.deepEqual(answered.filter((r) => r.status !== 204), [], 'every answer seen is 204');
      const own = t.console.filter((c) => !/Failed to load resource|net::ERR_/.test(c));
      assert.deepEqual(own, [], 'nothing on the console');
      assert.deepEqual(t.pageErrors, []);
    });
  }
});
