// Delivery under failure, in Chromium against real nginx, pum-ingest and
// pum-exporter: while the ingest is unavailable the page keeps recording;
// once it is back the totals are exact — nothing lost, nothing counted
// twice. Three kinds of failure:
//   - the workers are stopped (nginx answers 502);
//   - nginx answers 503, and the page is reloaded meanwhile (the unsent
//     batches go through sessionStorage to the next page load in the tab);
//   - the batches are applied but the answer is lost (nginx answers 503
//     after the worker committed): the client's retries carry the same
//     (client, seq) and the server acknowledges them without applying
//     them again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { waitFor } from '../integration/stack.mjs';
import {
  autoMetricExpectations, closePage, delta, expectMetrics, openPage, sleep, unexpectedErrors, useBrowserStack,
} from './browser.mjs';
import { buttons, CQ, FB, page } from './pages.mjs';

const T = { timeout: 90000 };
// How long a client may take to get through after the ingest is back: its
// retry backoff after a few seconds of failures, plus the interval.
const RECOVERY = { timeout: 30000 };

// /record-lostack: the batch goes to the workers (an nginx mirror
// subrequest, whose answer is discarded) while the page gets what
// /record-fate says: 503 while DIR/lostack exists, else 204.
function lostAckLocations(s) {
  return `location = /record-lostack {
      mirror /record-apply;
      mirror_request_body on;
      proxy_pass http://127.0.0.1:$server_port/record-fate;
    }
    location = /record-apply { internal; ${s.fcgiPass()} }
    location = /record-fate { if (-f ${s.dir}/lostack) { return 503; } return 204; }`;
}

function testPage(s, name, { url, heartbeat = true } = {}) {
  return s.writePage(name, page({
    title: `Delivery: ${name}`,
    head: `<script src="/pum.js" data-interval="300"${url ? ` data-url="${url}"` : ''}` +
      `${heartbeat ? '' : ' data-heartbeat="false"'}></script>`,
    body: buttons({
      qq: "prometheusUserMonitoringClient.makeCounter('usage_total').increment({browser: 'chrome', feature: 'quickQuestion'})",
      fb: `prometheusUserMonitoringClient.makeHistogram('firebase_response_time').observe(0.25, {firebaseHost: '${FB}'})`,
    }),
  }));
}

// Clicks #qq `n` times and #fb every other time, `gapMs` apart: spread
// over several of the client's 300 ms intervals.
async function record(p, n, gapMs = 200) {
  for (let i = 0; i < n; i++) {
    await p.click('#qq');
    if (i % 2 === 0) await p.click('#fb');
    await sleep(gapMs);
  }
}

function custom(base, qq, fb) {
  return [
    ['usage_total{chrome,quickQuestion}', (m) => delta(base, m, 'usage_total', CQ), qq],
    ['firebase_response_time_count', (m) => delta(base, m, 'firebase_response_time_count', { firebaseHost: FB }), fb],
    ['firebase_response_time_sum', (m) => delta(base, m, 'firebase_response_time_sum', { firebaseHost: FB }), fb * 0.25],
  ];
}

const batchOf = (r) => {
  const b = JSON.parse(r.body);
  return { client: b.client, seq: b.seq, events: b.events };
};

// Every batch that failed with `status` was sent again later with the same
// (client, seq) and the same events, and that got through (204). Returns
// the number of such failed batches that carried events. (The client sends
// the oldest batch of its queue, so it is the one retried while the others
// wait behind it.)
function assertResentSame(t, status) {
  const failed = t.records.filter((r) => r.status === status).map(batchOf);
  assert.ok(failed.length > 0, `no request answered ${status}`);
  const ok = t.records.filter((r) => r.status === 204).map(batchOf);
  let withEvents = 0;
  for (const f of failed) {
    const again = ok.filter((b) => b.client === f.client && b.seq === f.seq);
    assert.ok(again.length > 0, `batch (${f.client}, ${f.seq}) failed with ${status} and was never sent again successfully`);
    for (const a of again) assert.deepEqual(a.events, f.events, `batch (${f.client}, ${f.seq}) changed between tries`);
    if (f.events.length) withEvents++;
  }
  return withEvents;
}

describe('delivery under failure, in Chromium', () => {
  const ref = useBrowserStack({ before, after }, { outageSwitch: true, nginxExtra: lostAckLocations });

  it('workers stopped for a few intervals (nginx 502): exact totals once they are back', T, async (tc) => {
    const { s, browser } = ref;
    const url = testPage(s, 'stopped.html');
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await expectMetrics(s, [['browser_page_views_total', (m) => delta(base, m, 'browser_page_views_total'), 1]], { settleMs: 0 });
    await s.killWorkers();
    try {
      await record(t.page, 12);
      await waitFor(() => t.records.filter((r) => r.status === 502).length >= 3, { timeout: 5000, what: '502s' });
      // The page is not blocked: it still runs its own code at once.
      assert.equal(await t.page.evaluate(() => 1 + 1), 2);
    } finally {
      await s.startWorkers();
    }
    await expectMetrics(s, custom(base, 12, 6), RECOVERY);
    assertResentSame(t, 502);
    await closePage(t);
    await expectMetrics(s, [...custom(base, 12, 6), ...autoMetricExpectations(base, 1)]);
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('nginx answers 503 and the page is reloaded meanwhile: the next load resends, counted once', T, async (tc) => {
    const { s, browser } = ref;
    const url = testPage(s, 'reload.html');
    const base = await s.series();
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await expectMetrics(s, [['browser_page_views_total', (m) => delta(base, m, 'browser_page_views_total'), 1]], { settleMs: 0 });
    // The server may count the batch before the page sees its answer.
    await waitFor(() => t.records.length > 0, { timeout: 5000, what: 'the first batch to be answered' });
    const firstClient = batchOf(t.records[0]).client;
    s.outage(true);
    let reloadedAt;
    try {
      await record(t.page, 6);
      await waitFor(() => t.records.filter((r) => r.status === 503).length >= 2, { timeout: 5000, what: '503s' });
      reloadedAt = t.records.length;
      await t.page.reload({ waitUntil: 'load' });
      await record(t.page, 4);
      await waitFor(() => t.records.slice(reloadedAt).some((r) => r.status === 503),
        { timeout: 5000, what: 'a 503 after the reload' });
    } finally {
      s.outage(false);
    }
    await expectMetrics(s, [...custom(base, 10, 5),
      ['browser_page_views_total', (m) => delta(base, m, 'browser_page_views_total'), 2]], RECOVERY);
    // The first page load's batches got through after it was gone: sent
    // by the second page load, with the first one's client id.
    const after = t.records.slice(reloadedAt).map(batchOf);
    assert.ok(after.some((b) => b.client !== firstClient), 'batches of the second page load');
    const late = t.records.slice(reloadedAt).filter((r) => r.status === 204 && batchOf(r).client === firstClient);
    assert.ok(late.length > 0, "the next page load resent the first one's batches");
    assertResentSame(t, 503);
    await closePage(t);
    await expectMetrics(s, [...custom(base, 10, 5), ...autoMetricExpectations(base, 2)]);
    assert.deepEqual(unexpectedErrors(t), []);
  });

  it('applied but the answer lost (503 after the commit): retries with the same (client, seq) count once', T, async (tc) => {
    const { s, browser } = ref;
    // No heartbeats: the batch at the head of the queue, the one retried,
    // is one with events.
    const url = testPage(s, 'lostack.html', { url: '/record-lostack', heartbeat: false });
    const base = await s.series();
    const lostack = `${s.dir}/lostack`;
    const t = await openPage(browser, tc);
    await t.page.goto(url, { waitUntil: 'load' });
    await expectMetrics(s, [['browser_page_views_total', (m) => delta(base, m, 'browser_page_views_total'), 1]], { settleMs: 0 });
    fs.writeFileSync(lostack, '');
    try {
      await record(t.page, 8, 0);
      // The oldest batch in the queue is retried (after 0.5-1 s, then
      // 1-2 s): the same (client, seq), answered 503 each time, applied
      // only the first time.
      await waitFor(() => {
        const failed = t.records.filter((r) => r.status === 503).map(batchOf);
        return failed.some((f) => f.events.length && failed.filter((g) => g.client === f.client && g.seq === f.seq).length >= 2);
      }, { timeout: 10000, what: 'a batch with events answered 503 twice' });
    } finally {
      fs.rmSync(lostack, { force: true });
    }
    // The client retries until it gets an answer: every failed batch.
    await waitFor(() => {
      try {
        return assertResentSame(t, 503) > 0;
      } catch {
        return false;
      }
    }, { ...RECOVERY, what: 'every failed batch to be resent and answered 204' });
    await closePage(t);
    const m = await expectMetrics(s, [...custom(base, 8, 4), ...autoMetricExpectations(base, 1)]);
    const dups = delta(base, m, 'pum_ingest_duplicate_batches_total');
    const tries = t.records.filter((r) => r.status === 503).length;
    assert.ok(dups >= 2 && dups <= tries, `pum_ingest_duplicate_batches_total went up by ${dups} (${tries} answers lost)`);
    assert.deepEqual(unexpectedErrors(t), []);
  });
});
