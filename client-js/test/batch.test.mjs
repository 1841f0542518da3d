import assert from 'node:assert/strict';
import test from 'node:test';
import { body, MAX_BYTES, split } from '../src/batch.js';

const bytes = (s) => Buffer.byteLength(s, 'utf8');

test("a body is pum's batch shape: client, seq and events", () => {
  const ev = [{ metricName: 'c', metricType: 'counter', labels: {}, inc: 1 }];
  const b = body('abc_-9', 7, split(ev)[0]);
  assert.deepEqual(JSON.parse(b), { client: 'abc_-9', seq: 7, events: ev });
});

test('no events make one empty part (a heartbeat batch)', () => {
  assert.deepEqual(split([]), [[]]);
  assert.deepEqual(JSON.parse(body('x', 0, [])), { client: 'x', seq: 0, events: [] });
});

test('every part of a large batch stays under 64 KiB, and no event is lost or reordered', () => {
  const ev = [];
  for (let i = 0; i < 3000; i++) {
    ev.push({
      metricName: 'usage_total',
      metricType: 'counter',
      labels: { feature: 'f' + i, text: 'ü€😀'.repeat(i % 7) },
      inc: i,
    });
  }
  const parts = split(ev);
  assert.ok(parts.length > 1);
  const id = 'x'.repeat(64);
  for (const [i, p] of parts.entries()) {
    const b = body(id, 1e15 + i, p);
    assert.ok(bytes(b) < 65536, `part ${i}: ${bytes(b)} bytes`);
    assert.ok(bytes(b) <= MAX_BYTES + 120);
  }
  assert.deepEqual(
    parts.flat().map((s) => JSON.parse(s)),
    ev,
  );
});

test('a part holds fewer than 1000 events even when they are the smallest possible', () => {
  const ev = Array.from({ length: 5000 }, () => ({ metricName: 'a', metricType: 'counter', labels: {}, inc: 0 }));
  for (const p of split(ev)) assert.ok(p.length < 1000, `${p.length} events`);
});

test('sizes are counted in UTF-8 bytes, not characters', () => {
  const big = { metricName: 'c', metricType: 'counter', labels: { t: '€'.repeat(15000) }, inc: 1 }; // 45 KB in UTF-8
  const parts = split([big, big]);
  assert.equal(parts.length, 2);
});

test('UTF-8 sizes are exact: a part fills to MAX_BYTES exactly, one byte more splits it', () => {
  // 2-, 3- and 4-byte characters, and a lone surrogate (JSON.stringify escapes it: 6 ASCII bytes)
  for (const char of ['é', '€', '😀', '\ud800']) {
    const event = (text) => ({ metricName: 'c', metricType: 'counter', labels: { t: text }, inc: 1 });
    const size = (e) => bytes(JSON.stringify(e)) + 1;
    const wide = event(char.repeat(1000));
    const n = MAX_BYTES - size(wide) - size(event(''));
    assert.deepEqual(
      split([event('x'.repeat(n)), wide]).map((p) => p.length),
      [2],
      `${escape(char)}: exactly full`,
    );
    assert.deepEqual(
      split([event('x'.repeat(n + 1)), wide]).map((p) => p.length),
      [1, 1],
      `${escape(char)}: one over`,
    );
  }
});

test('an event too large by itself gets a part of its own', () => {
  const huge = { metricName: 'c', metricType: 'counter', labels: { t: 'x'.repeat(70000) }, inc: 1 };
  const small = { metricName: 'c', metricType: 'counter', labels: {}, inc: 1 };
  assert.deepEqual(
    split([small, huge, small]).map((p) => p.length),
    [1, 1, 1],
  );
});
