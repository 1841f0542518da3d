// pum-exporter on its own: the listening line, /-/healthy, the exposition's
// headers, reloads (SIGHUP and file changes), --check-config, and promtool's
// verdict on the exposition of the shipped configuration.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';

import {
  EXPORTER_BIN, REPO, SEED_METRICS, SHIPPED_CONFIG, SHIPPED_METRICS_DIR, counterEvent, histogramProblems, run, itStopsCleanly, useStack, valueOf, waitFor,
} from './stack.mjs';
import { logRecords } from './logfmt.mjs';
import { request } from '../support/http.mjs';

const hooks = { before, after };
const T = { timeout: 30000 };

describe('pum-exporter', () => {
  const st = useStack(hooks, {
    metrics: { '10-seed.json': SEED_METRICS },
    config: { upkeep_interval_seconds: 1 },
  });

  it('logs one "listening on" line on stderr', T, async () => {
    const s = st.s;
    const lines = s.exporterStderr.split('\n').filter((l) => l.includes('listening on'));
    assert.equal(lines.length, 1, s.exporterStderr);
    assert.match(lines[0], /^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="listening on http:\/\/127\.0\.0\.1:(\d+)\/metrics"$/);
    assert.equal(logRecords(lines[0])[0].msg, `listening on http://127.0.0.1:${s.metricsPort}/metrics`);
  });

  it('GET /-/healthy is 200, an unknown path 404, POST /metrics not served', T, async () => {
    const base = st.s.baseMetricsUrl;
    const h = await fetch(`${base}/-/healthy`);
    await h.text();
    assert.equal(h.status, 200);
    const n = await fetch(`${base}/no/such/file`);
    await n.text();
    assert.equal(n.status, 404);
    const p = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    await p.text();
    assert.ok(p.status >= 400 && p.status < 500, `POST /metrics: ${p.status}`);
  });

  it('serves text format 0.0.4 with HELP and TYPE once per family, and its own pum_exporter_* gauges', T, async () => {
    const r = await st.s.scrapeResponse();
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const seen = new Set();
    for (const line of r.text.split('\n')) {
      if (!line.startsWith('# ')) continue;
      assert.ok(!seen.has(line.split(' ').slice(0, 3).join(' ')), `twice: ${line}`);
      seen.add(line.split(' ').slice(0, 3).join(' '));
    }
    assert.ok(r.text.endsWith('\n'));
    const m = await st.s.series();
    const own = [...m.types].filter(([name]) => name.startsWith('pum_exporter_'));
    assert.ok(own.length >= 3, `pum_exporter_* families: ${own.map(([n]) => n)}`);
    for (const [name, type] of own) {
      assert.equal(type, name.endsWith('_total') ? 'counter' : 'gauge', name);
    }
    // The store's size, its series count and the time a scrape took.
    for (const name of ['pum_exporter_store_size_bytes', 'pum_exporter_store_series', 'pum_exporter_scrape_duration_seconds']) {
      assert.ok(m.types.has(name), `${name} missing`);
    }
    for (const name of ['pum_reports_total', 'pum_ingest_requests_total', 'pum_ingest_events_rejected_total',
      'pum_ingest_events_accepted_total', 'pum_ingest_duplicate_batches_total']) {
      assert.equal(m.types.get(name), 'counter', name);
    }
    // Present from the start, at zero.
    assert.equal(valueOf(m, 'pum_reports_total'), 0);
    assert.equal(valueOf(m, 'pum_ingest_events_rejected_total', { reason: 'unknown_metric' }), 0);
  });

  it('gzip when asked, the same exposition', T, async () => {
    const plain = await st.s.scrape();
    // fetch() decodes gzip itself; request() gives the bytes as sent.
    const raw = await request(st.s.metricsUrl, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(raw.headers['content-encoding'], 'gzip');
    const text = zlib.gunzipSync(raw.buf).toString('utf8');
    const strip = (t) => t.split('\n').filter((l) => !l.startsWith('pum_exporter_') && !l.startsWith('# ')).join('\n');
    assert.equal(strip(text), strip(plain));
  });

  it('OpenMetrics when the Accept header asks for it', T, async () => {
    const r = await st.s.scrapeResponse({ accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/openmetrics-text; ?version=1\.0\.0/);
    assert.ok(r.text.endsWith('# EOF\n'), 'ends with # EOF');
  });

  it('SIGHUP reloads the allowlist: a new metric appears at zero', T, async () => {
    const s = st.s;
    s.writeMetricsFile('20-late.json', {
      allowedMetrics: [{ name: 'late_arrivals_total', help: 'added later', type: 'counter',
        labels: [{ name: 'kind', allowedValues: ['a', 'b'] }] }],
    });
    process.kill(s.exporterProc.pid, 'SIGHUP');
    const m = await waitFor(async () => {
      const x = await s.series();
      return x.has('late_arrivals_total{kind="b"}') ? x : null;
    }, { timeout: 5000, what: 'late_arrivals_total after SIGHUP' });
    assert.equal(valueOf(m, 'late_arrivals_total', { kind: 'a' }), 0);
    assert.equal(m.types.get('late_arrivals_total'), 'counter');
  });

  it('a changed file is picked up without a signal (upkeep_interval_seconds 1)', T, async () => {
    const s = st.s;
    s.writeMetricsFile('30-later.json', {
      allowedMetrics: [{ name: 'later_total', help: 'added later still', type: 'counter', labels: [] }],
    });
    await waitFor(async () => (await s.series()).has('later_total'), { timeout: 8000, interval: 200, what: 'later_total' });
  });

  it('a bad file on reload keeps the last good allowlist and the exporter serving', T, async () => {
    const s = st.s;
    s.writeMetricsFile('40-bad.json', '{"allowedMetrics": [{"name": "bad name", "type": "counter"}]}');
    process.kill(s.exporterProc.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    const m = await s.series();
    assert.ok(m.has('late_arrivals_total{kind="a"}'));
    assert.ok(m.has('usage_total{browser="chrome",feature="quickQuestion"}'));
    assert.equal(s.exporterProc.exitCode, null);
    fs.rmSync(path.join(s.metricsDir, '40-bad.json'));
  });

  itStopsCleanly(st);
});

describe("a histogram's buckets changed between two runs", () => {
  const file = (buckets) => ({ allowedMetrics: [{ name: 'job_seconds', help: 'job time', type: 'histogram', labels: [], buckets }] });
  const st = useStack(hooks, { metrics: { 'h.json': file([1, 2, 5]) } });

  it('never gives a broken histogram; new observations use the new bounds', T, async () => {
    const s = st.s;
    assert.equal((await s.post([{ metricName: 'job_seconds', metricType: 'histogram', observations: [0.5, 1.5, 3, 10] }])).status, 204);
    let m = await s.series();
    assert.deepEqual(histogramProblems(m), []);
    assert.equal(valueOf(m, 'job_seconds_bucket', { le: '2' }), 2);

    s.writeMetricsFile('h.json', file([0.5, 1, 3, 10]));
    process.kill(s.exporterProc.pid, 'SIGHUP');
    await s.restartWorkers();
    m = await waitFor(async () => {
      const x = await s.series();
      return x.has('job_seconds_bucket{le="3"}') ? x : null;
    }, { timeout: 5000, what: 'the new buckets' });
    assert.deepEqual(histogramProblems(m), []);
    assert.equal(valueOf(m, 'job_seconds_count'), 4);
    assert.equal(valueOf(m, 'job_seconds_sum'), 15);
    assert.equal(valueOf(m, 'job_seconds_bucket', { le: '+Inf' }), 4);
    let r = await promtoolCheck(await s.scrape());
    assert.deepEqual(r, { code: 0, out: '' });

    const before = valueOf(m, 'job_seconds_bucket', { le: '0.5' });
    assert.equal((await s.post([{ metricName: 'job_seconds', metricType: 'histogram', observations: [0.2, 2.5] }])).status, 204);
    m = await s.series();
    assert.deepEqual(histogramProblems(m), []);
    assert.equal(valueOf(m, 'job_seconds_bucket', { le: '0.5' }) - before, 1);
    assert.equal(valueOf(m, 'job_seconds_count'), 6);
    r = await promtoolCheck(await s.scrape());
    assert.deepEqual(r, { code: 0, out: '' });
  });

  itStopsCleanly(st);
});

describe('pum-exporter --check-config', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-check-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const check = (metricsDir, config) => run(EXPORTER_BIN, ['--check-config', `--metrics.dir=${metricsDir}`,
    `--storage.path=${path.join(dir, 'unused.db')}`, ...(config ? [`--config.file=${config}`] : [])], { timeout: 10000 });

  it('exits 0 on the shipped conf/ and on the seed example', T, async () => {
    let r = await check(SHIPPED_METRICS_DIR, SHIPPED_CONFIG);
    assert.equal(r.code, 0, `shipped conf: ${r.stderr}${r.stdout}`);
    const good = path.join(dir, 'good');
    fs.mkdirSync(good);
    fs.writeFileSync(path.join(good, 'seed.json'), JSON.stringify(SEED_METRICS, null, 2));
    r = await check(good);
    assert.equal(r.code, 0, r.stderr);
  });

  it('exits non-zero naming file:line for each problem in metrics.d', T, async () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'a.json'), [
      '{"allowedMetrics": [',
      '  {"name": "dup_total", "help": "x", "type": "counter", "labels": []},',
      '  {"name": "h_seconds", "help": "x", "type": "histogram", "labels": [],',
      '   "buckets": [1, 0.5, 2]}',
      ']}',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(bad, 'b.json'), [
      '{"allowedMetrics": [',
      '  {"name": "ok_total", "help": "x", "type": "counter", "labels": []},',
      '  {"name": "dup_total", "help": "again", "type": "counter", "labels": []}',
      ']}',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(bad, 'c.json'), '{"allowedMetrics": [\n  {"name": "x_total", "type": "counter", "colour": "red"}\n]}\n');
    const r = await check(bad);
    assert.notEqual(r.code, 0);
    const out = r.stderr + r.stdout;
    assert.match(out, /a\.json:\d+/, out);
    assert.match(out, /b\.json:3\b/, `the second definition of dup_total is on b.json line 3:\n${out}`);
    assert.match(out, /c\.json:2\b/, `the unknown key is on c.json line 2:\n${out}`);
  });

  it('exits non-zero naming file:line for a bad pum.json', T, async () => {
    const cfg = path.join(dir, 'pum.json');
    fs.writeFileSync(cfg, '{\n  // comment\n  "strict": true,\n  "no_such_key": 1\n}\n');
    const r = await check(SHIPPED_METRICS_DIR, cfg);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /pum\.json:4\b/, r.stderr);
  });
});

// Reads a metrics.d file (JSON, perhaps with // and /* */ comments).
function readJsonWithComments(file) {
  const text = fs.readFileSync(file, 'utf8');
  let out = '';
  for (let i = 0, inStr = false; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
    } else {
      out += c;
    }
  }
  return JSON.parse(out);
}

// One valid event for every metric of a metrics.d whose labels are all
// enumerated (pattern labels get a value only if a probe value matches).
function eventsFor(dir) {
  const events = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    for (const md of readJsonWithComments(path.join(dir, f)).allowedMetrics) {
      const labels = {};
      let ok = true;
      for (const l of md.labels || []) {
        if (l.allowedValues) {
          labels[l.name] = l.allowedValues[l.allowedValues.length - 1];
        } else {
          const v = ['/', 'example.com', 'api.example.com', 'x'].find((p) => new RegExp(`^(?:${l.pattern})$`).test(p));
          if (v === undefined) ok = false;
          else labels[l.name] = v;
        }
      }
      if (!ok) continue;
      events.push(md.type === 'histogram'
        ? { metricName: md.name, metricType: 'histogram', labels, observations: [0.001, 0.3, 99] }
        : counterEvent(labels, 2, md.name));
    }
  }
  return events;
}

async function promtoolCheck(text) {
  const r = await run('promtool', ['check', 'metrics'], { input: text });
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

describe('promtool check metrics on the exposition of the shipped conf/', () => {
  const st = useStack(hooks, { metricsDir: SHIPPED_METRICS_DIR, config: fs.readFileSync(SHIPPED_CONFIG, 'utf8') });

  it('passes on the empty store', T, async () => {
    const r = await promtoolCheck(await st.s.scrape());
    assert.deepEqual(r, { code: 0, out: '' });
  });

  it('passes with a value in every metric', T, async () => {
    const events = eventsFor(SHIPPED_METRICS_DIR);
    assert.ok(events.length >= 5, `events for the shipped metrics: ${events.length}`);
    const res = await st.s.post(events);
    assert.equal(res.status, 204, res.text);
    assert.equal((await st.s.post([counterEvent({}, 1, 'not_allowed_total')])).status, 200);
    const text = await st.s.scrape();
    const r = await promtoolCheck(text);
    assert.deepEqual(r, { code: 0, out: '' });
  });

  itStopsCleanly(st);
});

describe('promtool check metrics on browser.json alone', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-browser-'));
  fs.copyFileSync(path.join(REPO, 'conf', 'metrics.d', 'browser.json'), path.join(dir, 'browser.json'));
  const st = useStack(hooks, { metricsDir: dir, workers: 0, nginx: false });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes', T, async () => {
    const text = await st.s.scrape();
    assert.match(text, /^# TYPE browser_page_views_total counter$/m);
    const r = await promtoolCheck(text);
    assert.deepEqual(r, { code: 0, out: '' });
  });

  itStopsCleanly(st);
});
