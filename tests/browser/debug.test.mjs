// Debug mode in Chromium against the real stack with the shipped allowlist
// (conf/metrics.d): with `debug: true` a rejected event shows up on the
// page's console as a warning naming the rejection's index and reason next
// to the batch's events (so events[index] is the refused metric), also for
// a 4xx answer; without it pum.js writes nothing to the console, although
// the server rejects the same event.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { openPage, sleep, useBrowserStack } from './browser.mjs';
import { page, pumSnippet } from './pages.mjs';
import { SHIPPED_METRICS_DIR } from '../integration/stack.mjs';

const T = { timeout: 60000 };

// usage_total is in the shipped example.json; the seed's own
// firebase_response_time{firebaseHost} is not (the shipped name is
// firebase_response_time_seconds{firebase_host}): unknown_metric.
const CALLS = `
  pum('increment', 'usage_total', {browser: 'chrome', feature: 'quickQuestion'});
  pum('observe', 'firebase_response_time', {firebaseHost: 'pd-dev-1.firebaseio.com'}, 0.3);
  pum('flush');`;

// A page with pum's snippet, every automatic metric off (one batch, the two
// events above), and no favicon request (a 404 would be a console message).
function debugPage(s, name, options, { before = '', calls = CALLS } = {}) {
  return s.writePage(name, page({
    title: `pum debug ${name}`,
    head: `<link rel="icon" href="data:,">\n${before}<script>` + pumSnippet({
      options: { interval: 60000, heartbeat: false, ...options,
        auto: { pageViews: false, pageLoad: false, navigation: false, webVitals: false, errors: false, dropped: false } },
    }) + `</script>\n<script>${calls}</script>`,
  }));
}

// Every console message of the page, with its arguments as JSON values.
function recordConsole(p) {
  const messages = [];
  p.on('console', async (m) => {
    const entry = { type: m.type(), text: m.text(), args: null };
    messages.push(entry);
    try {
      entry.args = await Promise.all(m.args().map((a) => a.jsonValue()));
    } catch { /* page gone */ }
  });
  return messages;
}

async function waitForAnswer(t, status) {
  const deadline = Date.now() + 15000;
  while (!t.records.some((r) => r.status === status)) {
    if (Date.now() > deadline) assert.fail(`no /record answered ${status}: ${JSON.stringify(t.records)}`);
    await sleep(50);
  }
}

describe('debug mode, in Chromium with the shipped allowlist', () => {
  const ref = useBrowserStack({ before, after }, { metricsDir: SHIPPED_METRICS_DIR });

  it('debug: true warns with the rejection (index, reason) and the events it points into', T, async (tc) => {
    const { s, browser } = ref;
    const t = await openPage(browser, tc);
    const messages = recordConsole(t.page);
    await t.page.goto(debugPage(s, 'on.html', { debug: true }), { waitUntil: 'load' });
    await waitForAnswer(t, 200);
    const deadline = Date.now() + 5000;
    while (!messages.some((m) => m.type === 'warning' && m.args)) {
      if (Date.now() > deadline) assert.fail(`no warning on the console: ${JSON.stringify(messages)}`);
      await sleep(50);
    }
    const warnings = messages.filter((m) => m.type === 'warning');
    assert.equal(warnings.length, 1, JSON.stringify(messages));
    const [prefix, url, status, answer, events] = warnings[0].args;
    assert.equal(prefix, 'pum:');
    assert.equal(url, s.url('/record'));
    assert.equal(status, 200);
    assert.deepEqual(answer, { accepted: 1, rejected: [{ index: 1, reason: 'unknown_metric' }] });
    assert.equal(events[answer.rejected[0].index].metricName, 'firebase_response_time');
    assert.equal(events[0].metricName, 'usage_total');
    assert.ok(warnings[0].text.startsWith(`pum: ${s.url('/record')} 200 `), warnings[0].text);
  });

  it('debug: true warns about a 4xx answer too, with its error', T, async (tc) => {
    const { s, browser } = ref;
    // A batch the previous page of the tab left in sessionStorage, whose
    // client has since sent seq 2000: seq 5 is older than the server's
    // de-duplication window, 409 {"error": "seq_too_old"}.
    const client = `debug-${Date.now()}`;
    const event = { metricName: 'usage_total', metricType: 'counter', labels: { browser: 'chrome', feature: 'blockStudent' }, inc: 1 };
    assert.equal((await s.post({ client, seq: 2000, events: [event] })).status, 204);
    const saved = JSON.stringify([[JSON.stringify({ client, seq: 5, events: [event] })]]);
    const before = `<script>sessionStorage.setItem(${JSON.stringify('pum:' + s.url('/record'))}, ${JSON.stringify(saved)});</script>\n`;
    const t = await openPage(browser, tc);
    const messages = recordConsole(t.page);
    await t.page.goto(debugPage(s, 'old.html', { debug: true }, { before, calls: '' }), { waitUntil: 'load' });
    await waitForAnswer(t, 409);
    const deadline = Date.now() + 5000;
    let w;
    while (!(w = messages.find((m) => m.type === 'warning' && m.args && m.args[2] === 409))) {
      if (Date.now() > deadline) assert.fail(`no warning for the 409: ${JSON.stringify(messages.map((m) => m.text))}`);
      await sleep(50);
    }
    assert.deepEqual(w.args[3], { error: 'seq_too_old' });
    assert.deepEqual(w.args[4], [event]);
  });

  it('without debug, pum.js writes nothing to the console though the server rejects the event', T, async (tc) => {
    const { s, browser } = ref;
    const t = await openPage(browser, tc);
    const messages = recordConsole(t.page);
    await t.page.goto(debugPage(s, 'off.html', {}), { waitUntil: 'load' });
    await waitForAnswer(t, 200);
    await sleep(1000);
    assert.deepEqual(messages, [], 'no console output at all');
    assert.ok(t.records.every((r) => r.status === 200), JSON.stringify(t.records));
  });
});
