import assert from 'node:assert/strict';
import test from 'node:test';
import { aggregator, MAX_OBS } from '../src/aggregator.js';

test('counter increments of one series are summed into one event', () => {
  const [add, take] = aggregator();
  add(0, 'usage_total', { feature: 'a' }, 1);
  add(0, 'usage_total', { feature: 'a' }, 2.5);
  assert.deepEqual(take(), [{ metricName: 'usage_total', metricType: 'counter', labels: { feature: 'a' }, inc: 3.5 }]);
});

test('different label values are different series, in first-seen order', () => {
  const [add, take] = aggregator();
  add(0, 'usage_total', { feature: 'b' }, 1);
  add(0, 'usage_total', { feature: 'a' }, 1);
  add(0, 'usage_total', { feature: 'b' }, 1);
  assert.deepEqual(
    take().map((e) => [e.labels.feature, e.inc]),
    [
      ['b', 2],
      ['a', 1],
    ]
  );
});

test('histogram observations of one series are collected in order', () => {
  const [add, take] = aggregator();
  add(1, 'rt_seconds', { host: 'x' }, 0.3);
  add(1, 'rt_seconds', { host: 'x' }, 0.1);
  add(1, 'rt_seconds', { host: 'y' }, 2);
  assert.deepEqual(take(), [
    { metricName: 'rt_seconds', metricType: 'histogram', labels: { host: 'x' }, observations: [0.3, 0.1] },
    { metricName: 'rt_seconds', metricType: 'histogram', labels: { host: 'y' }, observations: [2] },
  ]);
});

test('a counter and a histogram of the same name stay apart', () => {
  const [add, take] = aggregator();
  add(0, 'm', {}, 1);
  add(1, 'm', {}, 1);
  assert.deepEqual(
    take().map((e) => e.metricType),
    ['counter', 'histogram']
  );
});

test('a histogram series starts a new event every MAX_OBS observations', () => {
  const [add, take] = aggregator();
  for (let i = 0; i < 2 * MAX_OBS + 1; i++) add(1, 'h', {}, i);
  const ev = take();
  assert.deepEqual(
    ev.map((e) => e.observations.length),
    [MAX_OBS, MAX_OBS, 1]
  );
  assert.equal(ev[2].observations[0], 2 * MAX_OBS);
});

test('label values are sent as strings', () => {
  const [add, take] = aggregator();
  add(0, 'c', { code: 200, ok: true, n: null }, 1);
  assert.deepEqual(take()[0].labels, { code: '200', ok: 'true', n: 'null' });
});

test('missing or non-object labels count as no labels', () => {
  const [add, take] = aggregator();
  add(0, 'c', undefined, 1);
  add(0, 'c', null, 1);
  add(0, 'c', 42, 1);
  add(0, 'c', {}, 1);
  assert.deepEqual(take(), [{ metricName: 'c', metricType: 'counter', labels: {}, inc: 4 }]);
});

test('values that are not finite numbers, and negative counter increments, are ignored', () => {
  const [add, take] = aggregator();
  for (const v of [NaN, Infinity, -Infinity, '1', null, undefined, {}, [1]]) {
    add(0, 'c', {}, v);
    add(1, 'h', {}, v);
  }
  add(0, 'c', {}, -1);
  assert.deepEqual(take(), []);
  add(1, 'h', {}, -1); // a negative observation is fine
  add(0, 'c', {}, 0); // so is a zero increment
  assert.deepEqual(
    take().map((e) => e.observations || e.inc),
    [[-1], 0]
  );
});

test('take() hands over the events and starts afresh', () => {
  const [add, take] = aggregator();
  add(0, 'c', {}, 1);
  assert.equal(take().length, 1);
  assert.deepEqual(take(), []);
  add(0, 'c', {}, 1);
  assert.equal(take()[0].inc, 1);
});
