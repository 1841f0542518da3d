// End-to-end alarm: one real pum stack (nginx, pum-ingest, pum-exporter,
// the shipped allowlist) and one real Prometheus scraping it every second
// with the SHIPPED recording and alerting rules
// (deploy/prometheus/pum-recording-rules.yml, pum-alerts.yml), evaluated
// every second. The only change to the rules: every `for:` is 2s instead of
// minutes (a copy of the alert file; the expressions are untouched, which
// the test checks). Page views without errors leave PumJsErrorRateSpike
// silent; then the error rate steps up and the alert fires. Stopping the
// exporter fires PumNotScraped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SHIPPED_METRICS_DIR, Stack, clientId, waitFor } from '../integration/stack.mjs';
import { ALERT_RULES, RECORDING_RULES, scalarOf, startPrometheus, withShortFor } from './prometheus.mjs';

const FOR = '2s';
const counter = (metricName, inc, labels) => ({ metricName, metricType: 'counter', ...(labels ? { labels } : {}), inc });
const withoutFor = (text) => text.replace(/^\s*for:.*$/gm, '');

describe('end-to-end alarm: the shipped rules against a real pum and a real Prometheus', () => {
  let stack;
  let prom;
  let rulesDir;
  const client = clientId('alarm');
  let seq = 0;

  after(async () => {
    if (prom) await prom.stop();
    if (stack) await stack.stopAll();
    if (rulesDir) fs.rmSync(rulesDir, { recursive: true, force: true });
  });

  before(async () => {
    stack = await new Stack({ metricsDir: SHIPPED_METRICS_DIR, workers: 2 }).start();
    rulesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-rules-'));
    const ruleFiles = [withShortFor(RECORDING_RULES, rulesDir, FOR), withShortFor(ALERT_RULES, rulesDir, FOR)];
    prom = await startPrometheus({
      targets: [`127.0.0.1:${stack.metricsPort}`], ruleFiles, scrapeInterval: '1s', evaluationInterval: '1s',
    });
    // every counter's first sample is its exported 0
    await prom.waitForQuery('browser_page_views_total{job="pum"} == 0', (r) => r.length === 1, 15000);
    await prom.waitForQuery('browser_errors_total{job="pum"} == 0', (r) => r.length === 2, 5000);
  });

  async function send(events) {
    const r = await stack.post({ client, seq: seq++, events }, { contentType: 'text/plain' });
    assert.equal(r.status, 204, r.text);
  }

  // The state of the alert `name`: undefined (inactive), 'pending' or 'firing'.
  async function alertState(name) {
    const a = (await prom.alerts()).filter((x) => x.labels.alertname === name);
    if (a.some((x) => x.state === 'firing')) return 'firing';
    return a.length ? a[0].state : undefined;
  }

  it('loads the shipped rules unchanged but for the `for:` durations', async () => {
    for (const f of [RECORDING_RULES, ALERT_RULES]) {
      const copy = fs.readFileSync(path.join(rulesDir, path.basename(f)), 'utf8');
      assert.equal(withoutFor(copy), withoutFor(fs.readFileSync(f, 'utf8')), `${f}: only for: lines differ`);
    }
    const groups = await prom.rules();
    const alerting = groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
    const names = alerting.map((r) => r.name);
    for (const n of ['PumJsErrorRateSpike', 'PumNotScraped']) assert.ok(names.includes(n), `alert ${n} loaded: ${names}`);
    for (const r of alerting) assert.ok(r.duration <= 2, `${r.name}: for ${r.duration}s`);
    assert.ok(groups.some((g) => g.name === 'pum-alerts'), groups.map((g) => g.name).join(' '));
    for (const r of groups.flatMap((g) => g.rules)) assert.notEqual(r.health, 'err', `${r.name}: ${r.lastError}`);
  });

  it('baseline: page views and no errors, PumJsErrorRateSpike stays silent', { timeout: 40000 }, async () => {
    // 600 page views in 5 minutes is 2 a second, well above the alert's
    // traffic guard; sent over a few seconds, in several batches.
    for (let i = 0; i < 3; i++) {
      await send([counter('browser_page_views_total', 200), counter('usage_total', 5, { browser: 'chrome', feature: 'quickQuestion' })]);
      await sleep(700);
    }
    // the rules see the traffic: page views per second > 0, errors per page view 0
    await prom.waitForQuery('pum:browser_page_views:rate5m', (r) => scalarOf(r) > 1, 15000);
    await prom.waitForQuery('pum:browser_errors_per_page_view:ratio_5m', (r) => r.length === 1 && scalarOf(r) === 0, 10000);
    // longer than `for:` plus an evaluation, the alert is neither pending nor firing
    const until = Date.now() + 4500;
    while (Date.now() < until) {
      assert.equal(await alertState('PumJsErrorRateSpike'), undefined, 'PumJsErrorRateSpike at baseline');
      await sleep(300);
    }
  });

  it('the error rate steps up: PumJsErrorRateSpike fires', { timeout: 40000 }, async () => {
    // another 600 page views, now with 120 uncaught errors and rejections:
    // 120 / 1200 = 0.1 errors per page view over the 5m window
    for (let i = 0; i < 3; i++) {
      await send([counter('browser_page_views_total', 200), counter('browser_errors_total', 30, { kind: 'error' }),
        counter('browser_errors_total', 10, { kind: 'unhandledrejection' })]);
      await sleep(300);
    }
    const ratio = await prom.waitForQuery('pum:browser_errors_per_page_view:ratio_5m',
      (r) => Math.abs(scalarOf(r) - 0.1) < 1e-9, 15000);
    assert.equal(ratio[0].metric.instance, undefined);
    await waitFor(async () => (await alertState('PumJsErrorRateSpike')) === 'firing',
      { timeout: 20000, interval: 200, what: 'PumJsErrorRateSpike to fire' });
    const firing = (await prom.alerts()).find((a) => a.labels.alertname === 'PumJsErrorRateSpike' && a.state === 'firing');
    assert.equal(firing.labels.job, 'pum');
    assert.ok(firing.labels.severity, 'severity label');
    assert.ok(Math.abs(Number(firing.value) - 0.1) < 1e-9, `alert value ${firing.value}`);
    assert.ok(firing.annotations.summary, 'summary annotation');
    // active (pending) at least `for:` before it fired
    assert.ok(Date.parse(firing.activeAt) <= Date.now() - 2000, `activeAt ${firing.activeAt}`);
    assert.equal(await alertState('PumNotScraped'), undefined);
  });

  it('the exporter stops: PumNotScraped fires for its instance', { timeout: 40000 }, async () => {
    const instance = `127.0.0.1:${stack.metricsPort}`;
    await stack.killExporter('SIGTERM');
    await waitFor(async () => (await alertState('PumNotScraped')) === 'firing',
      { timeout: 20000, interval: 200, what: 'PumNotScraped to fire' });
    const a = (await prom.alerts()).find((x) => x.labels.alertname === 'PumNotScraped' && x.state === 'firing');
    assert.equal(a.labels.instance, instance);
    assert.equal(a.labels.job, 'pum');
  });
});
