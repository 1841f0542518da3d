import assert from 'node:assert/strict';
import test from 'node:test';
import { createAggregator, MAX_OBS } from '../src/aggregator.js';

test('counter increments of one series are summed into one event', () => {
  const agg = createAggregator();
  agg.count('usage_total', { feature: 'a' }, 1);
  agg.count('usage_total', { feature: 'a' }, 2.5);
  assert.deepEqual(agg.take(), [
    { metricName: 'usage_total', metricType: 'counter', labels: { feature: 'a' }, inc: 3.5 },
  ]);
});

test('different label values are different series, in first-seen order', () => {
  const agg = createAggregator();
  agg.count('usage_total', { feature: 'b' }, 1);
  agg.count('usage_total', { feature: 'a' }, 1);
  agg.count('usage_total', { feature: 'b' }, 1);
  assert.deepEqual(
    agg.take().map((e) => [e.labels.feature, e.inc]),
    [
      ['b', 2],
      ['a', 1],
    ],
  );
});

test('histogram observations of one series are collected in order', () => {
  const agg = createAggregator();
  agg.record('rt_seconds', { host: 'x' }, 0.3);
  agg.record('rt_seconds', { host: 'x' }, 0.1);
  agg.record('rt_seconds', { host: 'y' }, 2);
  assert.deepEqual(agg.take(), [
    { metricName: 'rt_seconds', metricType: 'histogram', labels: { host: 'x' }, observations: [0.3, 0.1] },
    { metricName: 'rt_seconds', metricType: 'histogram', labels: { host: 'y' }, observations: [2] },
  ]);
});

test('a counter and a histogram of the same name stay apart', () => {
  const agg = createAggregator();
  agg.count('m', {}, 1);
  agg.record('m', {}, 1);
  assert.deepEqual(
    agg.take().map((e) => e.metricType),
    ['counter', 'histogram'],
  );
});

test('a histogram series starts a new event every MAX_OBS observations', () => {
  const agg = createAggregator();
  for (let i = 0; i < 2 * MAX_OBS + 1; i++) agg.record('h', {}, i);
  const ev = agg.take();
  assert.deepEqual(
    ev.map((e) => e.observations.length),
    [MAX_OBS, MAX_OBS, 1],
  );
  assert.equal(ev[2].observations[0], 2 * MAX_OBS);
});

test('label values are sent as strings', () => {
  const agg = createAggregator();
  agg.count('c', { code: 200, ok: true, n: null }, 1);
  assert.deepEqual(agg.take()[0].labels, { code: '200', ok: 'true', n: 'null' });
});

test('missing or non-object labels count as no labels', () => {
  const agg = createAggregator();
  agg.count('c', undefined, 1);
  agg.count('c', null, 1);
  agg.count('c', 42, 1);
  agg.count('c', {}, 1);
  assert.deepEqual(agg.take(), [{ metricName: 'c', metricType: 'counter', labels: {}, inc: 4 }]);
});

test('values that are not finite numbers, and negative counter increments, are ignored', () => {
  const agg = createAggregator();
  for (const v of [NaN, Infinity, -Infinity, '1', null, undefined, {}, [1]]) {
    agg.count('c', {}, v);
    agg.record('h', {}, v);
  }
  agg.count('c', {}, -1);
  assert.deepEqual(agg.take(), []);
  agg.record('h', {}, -1); // a negative observation is fine
  agg.count('c', {}, 0); // so is a zero increment
  assert.deepEqual(
    agg.take().map((e) => e.observations || e.inc),
    [[-1], 0],
  );
});

test('agg.take() hands over the events and starts afresh', () => {
  const agg = createAggregator();
  agg.count('c', {}, 1);
  assert.equal(agg.take().length, 1);
  assert.deepEqual(agg.take(), []);
  agg.count('c', {}, 1);
  assert.equal(agg.take()[0].inc, 1);
});
