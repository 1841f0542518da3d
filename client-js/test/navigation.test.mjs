import assert from 'node:assert/strict';
import test from 'node:test';
import { navigation, PHASES, phases } from '../src/auto/navigation.js';
import { navEntry, recorder } from '../test-support/fake-env.mjs';

const us = (s) => Math.round(s * 1e6);
const sumUs = (p) => p.reduce((a, v) => a + us(v), 0);

test('the ten phases add up exactly to the page load, which is loadEventEnd', () => {
  const { durations: p, total } = phases(navEntry());
  assert.equal(p.length, 10);
  assert.equal(sumUs(p), us(total));
  assert.equal(total, 1.210123);
});

test('each phase is the gap between its two boundaries', () => {
  const { durations: p } = phases(navEntry());
  const byName = Object.fromEntries(PHASES.map((n, i) => [n, us(p[i])]));
  assert.deepEqual(byName, {
    redirect: 5100, // fetchStart - 0
    cache: 5100, // domainLookupStart - fetchStart
    dns: 20100,
    connect: 50100, // connectEnd - domainLookupEnd
    request: 120100, // responseStart - connectEnd
    response: 50100,
    dom_processing: 350100, // domInteractive - responseEnd
    dom_content_loaded: 50100, // domContentLoadedEventEnd - domInteractive
    subresources: 550100, // loadEventStart - domContentLoadedEventEnd
    load_event: 9223, // loadEventEnd - loadEventStart, rounded to the microsecond
  });
});

test('phases are clamped at 0 when timestamps are missing, zero or out of order', () => {
  const e = navEntry({
    domainLookupStart: 0,
    domainLookupEnd: 0,
    connectEnd: 0,
    responseEnd: 100,
    domInteractive: undefined,
  });
  const { durations: p, total } = phases(e);
  for (const v of p) assert.ok(v >= 0, String(p));
  assert.equal(sumUs(p), us(total));
  assert.equal(us(total), 1210123);
  const n = Object.fromEntries(PHASES.map((x, i) => [x, us(p[i])]));
  assert.equal(n.cache, 0);
  assert.equal(n.dns, 0);
  assert.equal(n.connect, 0);
  assert.equal(n.request, 195400); // responseStart - fetchStart: the missing boundaries took the earlier one
  assert.equal(n.response, 0); // responseEnd (100) before responseStart (200.5)
});

test('a prerendered page is measured from activationStart', () => {
  const { durations: p, total } = phases(navEntry({ activationStart: 400 }));
  assert.equal(us(total), 810123); // loadEventEnd - activationStart
  assert.equal(sumUs(p), us(total));
  const n = Object.fromEntries(PHASES.map((x, i) => [x, us(p[i])]));
  assert.deepEqual([n.redirect, n.cache, n.dns, n.connect, n.request, n.response], [0, 0, 0, 0, 0, 0]);
  assert.equal(n.dom_processing, 200700); // domInteractive - activationStart
});

test('a page fully loaded while prerendering has a page load of 0', () => {
  const { durations: p, total } = phases(navEntry({ activationStart: 5000 }));
  assert.equal(total, 0);
  assert.ok(p.every((v) => v === 0));
});

test('navigation() adds the page load and the ten phases, or nothing before the load event ended', () => {
  const got = [];
  const add = recorder(got);
  navigation(navEntry(), add, true, true);
  assert.equal(got.length, 11);
  // the phases first, in order, then the page load
  assert.deepEqual(got[10], ['observe', 'browser_page_load_seconds', {}, 1.210123]);
  assert.deepEqual(
    got.slice(0, 10).map((a) => [a[1], a[2].phase]),
    PHASES.map((p) => ['browser_navigation_phase_seconds', p]),
  );
  got.length = 0;
  navigation(navEntry({ loadEventEnd: 0 }), add, true, true);
  navigation(undefined, add, true, true);
  assert.equal(got.length, 0);
  navigation(navEntry(), add, false, true);
  assert.equal(got.length, 10);
  got.length = 0;
  navigation(navEntry(), add, true, false);
  assert.equal(got.length, 1);
});
