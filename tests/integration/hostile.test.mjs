// Hostile bodies and transports, end to end through a real nginx -> one
// pum-ingest (spawn-fcgi) -> SQLite -> pum-exporter (issue 7, item 8): for
// every class of bad input, the status docs/wire-format.md#answers documents, a JSON
// {"error"} that names the problem, /metrics changed by nothing but pum's
// own request counter (compared series by series, strictly parsed), and the
// worker still serving the next valid batch. One worker, so that a crash or
// a hang of "the" worker cannot hide behind another one.
//
// The event-level classes (200 with reasons, label injection into
// /metrics, max_inc / range) are in hostile-events.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { SEED_METRICS, clientId, counterEvent, itStopsCleanly, seriesKey, useStack } from './stack.mjs';
import {
  assertServes, chunked, diff, expectAnswer, head, rawRequest, rej, req, snapshot,
} from './hostile-lib.mjs';

const hooks = { before, after };
const T = { timeout: 60000 };
const CQ = { browser: 'chrome', feature: 'quickQuestion' };
const USAGE_CQ = seriesKey('usage_total', CQ);
const GOOD = JSON.stringify(counterEvent(CQ, 1));

// What one applied batch of `events` valid events adds to pum's counters.
function applied(events, code = 204) {
  const c = { [req(code)]: 1, pum_reports_total: 1 };
  if (events) c.pum_ingest_events_accepted_total = events;
  return c;
}

const post = (s, body, opts) => () => s.post(body, opts);

describe('bad bodies: 400 naming the problem, nothing applied, the worker serves on', () => {
  const st = useStack(hooks, { workers: 1, metrics: { 'seed.json': SEED_METRICS } });

  // [what, body, a RegExp the error must match]
  const cases = [
    ['an empty body', '', /empty/],
    ['only white space', ' \n\t ', /not JSON/],
    ['null', 'null', /wrong shape.*array of events/],
    ['{}', '{}', /wrong shape.*"events"/],
    ['the number 1', '1', /wrong shape/],
    ['the string "x"', '"x"', /wrong shape/],
    ['true', 'true', /wrong shape/],
    ['false', 'false', /wrong shape/],
    ['two JSON documents', `[${GOOD}] [${GOOD}]`, /not JSON.*must not be followed by other values/],
    ['two JSON objects', `{"events":[${GOOD}]}{"events":[]}`, /not JSON.*followed by other values/],
    ['trailing garbage', `[${GOOD}] x`, /not JSON.*followed by other values/],
    ['trailing comma', `[${GOOD},]`, /not JSON/],
    ['truncated', `[${GOOD}`, /not JSON/],
    ['a UTF-8 byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`[${GOOD}]`)]),
      /byte order mark/],
    ['a /* */ comment', `/* hi */ [${GOOD}]`, /not JSON.*invalid value/],
    ['a // comment', `[${GOOD}] // hi`, /not JSON/],
    ['a comment inside', `[${GOOD} /* hi */]`, /not JSON/],
    ['single quotes', "[{'metricName': 'usage_total'}]", /not JSON/],
    ['a raw NUL byte', Buffer.from(`[${GOOD}]\0`), /NUL byte/],
    ['NaN', '[{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion"},"inc":NaN}]',
      /not JSON/],
    ['Infinity', `[${GOOD.replace('"inc":1', '"inc":Infinity')}]`, /not JSON/],
    ['-Infinity', `[${GOOD.replace('"inc":1', '"inc":-Infinity')}]`, /not JSON/],
    ['1e400', `[${GOOD.replace('"inc":1', '"inc":1e400')}]`, /not JSON.*number too big/],
    ['-1e400', `[${GOOD.replace('"inc":1', '"inc":-1e400')}]`, /not JSON.*number too big/],
    ['a leading zero', `[${GOOD.replace('"inc":1', '"inc":01')}]`, /not JSON/],
    ['a hex number', `[${GOOD.replace('"inc":1', '"inc":0x1')}]`, /not JSON/],
    ['32000-deep arrays', `[${GOOD},${'['.repeat(32000)}${']'.repeat(32000)}]`, /too deep/],
    ['65000 unclosed [', '['.repeat(65000), /too deep/],
    ['10000-deep objects', `[{"metricName":"usage_total","labels":${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}}]`, /too deep/],
    ['an event nested 9 deep', `[[[[[[[[[${GOOD}]]]]]]]]]`, /too deep/],
    ['a control character in a string', `[{"metricName":"usage\u0001_total"}]`, /not JSON/],
    ['a bad escape', '[{"metricName":"usage\\x_total"}]', /not JSON/],
    ['a key given twice in the batch object', `{"events":[${GOOD}],"events":[]}`, /duplicate key: "events"/],
    ['metricName twice in an event, different values',
      '[{"metricName":"usage_total","metricName":"app_load_succeeded_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion"},"inc":1}]',
      /duplicate key: "metricName"/],
    ['inc twice in an event', `[${GOOD.replace('"inc":1', '"inc":1,"inc":1000')}]`, /duplicate key: "inc"/],
    ['a label key twice, different values',
      '[{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion","browser":"edge"},"inc":1}]',
      /duplicate key: "browser"/],
    ['a label twice, same value',
      '[{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","browser":"chrome","feature":"quickQuestion"},"inc":1}]',
      /duplicate key: "browser"/],
    ['a label twice, one of them escaped',
      '[{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"quickQuestion","\\u0062rowser":"edge"},"inc":1}]',
      /duplicate key: "browser"/],
  ];
  for (const [what, body, error] of cases) {
    it(`400 for ${what}`, T, async () => {
      await expectAnswer(st.s, what, post(st.s, body), { status: 400, error });
    });
  }

  // Invalid UTF-8 inside a string of an otherwise valid event, raw bytes.
  const inLabel = (bytes) => Buffer.concat([
    Buffer.from(`[${GOOD},{"metricName":"usage_total","metricType":"counter","labels":{"browser":"chrome","feature":"`),
    Buffer.from(bytes),
    Buffer.from('"},"inc":1}]'),
  ]);
  const utf8 = [
    ['a stray 0xff', [0xff]],
    ['a lone continuation byte', [0x80]],
    ['a truncated 2-byte sequence', [0xc3]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['an overlong "/" (c0 af)', [0xc0, 0xaf]],
    ['an overlong "/" in 3 bytes', [0xe0, 0x80, 0xaf]],
    ['an overlong "/" in 4 bytes', [0xf0, 0x80, 0x80, 0xaf]],
    ['an overlong NUL (c0 80)', [0xc0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a 5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['a raw high surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a raw low surrogate (CESU-8)', [0xed, 0xb0, 0x80]],
    ['a CESU-8 surrogate pair', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
    ['Latin-1 é', [0x63, 0x61, 0x66, 0xe9]],
  ];
  for (const [what, bytes] of utf8) {
    it(`400 for invalid UTF-8: ${what}`, T, async () => {
      await expectAnswer(st.s, what, post(st.s, inLabel(bytes)), { status: 400, error: /not valid UTF-8/ });
    });
  }
  it('400 for invalid UTF-8 in a key and in a metric name', T, async () => {
    const key = Buffer.concat([Buffer.from('[{"metricName":"usage_total","'), Buffer.from([0xc0, 0xaf]), Buffer.from('":1}]')]);
    await expectAnswer(st.s, 'in a key', post(st.s, key), { status: 400, error: /not valid UTF-8/ });
    const name = Buffer.concat([Buffer.from('[{"metricName":"usage'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('_total"}]')]);
    await expectAnswer(st.s, 'in a metric name', post(st.s, name), { status: 400, error: /not valid UTF-8/ });
  });

  const surrogates = [
    ['an escaped lone high surrogate "\\ud800"', '\\ud800'],
    ['an escaped lone low surrogate "\\udc00"', '\\udc00'],
    ['a high surrogate then a letter', '\\ud800\\u0041'],
    ['two high surrogates', '\\ud800\\ud800'],
    ['a reversed pair', '\\udc00\\ud800'],
    ['a high surrogate at the end of the string', 'chrome\\udbff'],
  ];
  for (const [what, esc] of surrogates) {
    it(`400 for ${what}`, T, async () => {
      const body = `[${GOOD},{"metricName":"usage_total","metricType":"counter","labels":{"browser":"${esc}","feature":"quickQuestion"},"inc":1}]`;
      await expectAnswer(st.s, what, post(st.s, body), { status: 400, error: /not valid UTF-8.*surrogate/ });
    });
  }

  it('[] and {"events": []} are valid heartbeats: 204, nothing but the report counted', T, async () => {
    const s = st.s;
    await expectAnswer(s, '[]', post(s, '[]'), { status: 204, changes: applied(0) });
    await expectAnswer(s, '{"events":[]}', post(s, '{"events":[]}'), { status: 204, changes: applied(0) });
  });

  it('a valid escaped surrogate pair and a UTF-8 character are accepted (the checks are not too eager)', T, async () => {
    const s = st.s;
    // U+1F600 escaped as a pair, as a metric name: unknown, so 200 with a
    // reason, but not a 400.
    const body = '[{"metricName":"usage_\\ud83d\\ude00","metricType":"counter","inc":1}]';
    await expectAnswer(s, 'escaped pair', post(s, body), {
      status: 200,
      json: { accepted: 0, rejected: [{ index: 0, reason: 'unknown_metric' }] },
      changes: { ...applied(0, 200), [rej('unknown_metric')]: 1 },
    });
  });

  itStopsCleanly(st);
});

describe('100k-deep nesting under a 1 MB --max-body-bytes', () => {
  const st = useStack(hooks, {
    workers: 1, metrics: { 'seed.json': SEED_METRICS }, nginxMaxBody: '2m', ingestArgs: ['--max-body-bytes=1000000'],
  });
  const cases = [
    ['100k-deep arrays', `[${GOOD},${'['.repeat(100000)}${']'.repeat(100000)}]`],
    ['100k unclosed [', '['.repeat(100000)],
    ['100k-deep objects', `[{"metricName":"usage_total","labels":${'{"a":'.repeat(100000)}1${'}'.repeat(100000)}}]`],
    ['100k-deep objects in arrays', `{"events":${'[{"a":'.repeat(100000)}1${'}]'.repeat(100000)}}`],
  ];
  for (const [what, body] of cases) {
    it(`400 too deep for ${what} (${body.length} bytes)`, T, async () => {
      await expectAnswer(st.s, what, post(st.s, body), { status: 400, error: /too deep.*8 levels/ });
    });
  }
  itStopsCleanly(st);
});

describe('bad client, seq and sample: 400 each, nothing applied', () => {
  const st = useStack(hooks, { workers: 1, metrics: { 'seed.json': SEED_METRICS } });
  const batch = (fields) => `{${fields}, "events": [${GOOD}]}`;

  const cases = [
    ['seq -1', '"client":"abc","seq":-1', /bad seq/],
    ['seq 1.5', '"client":"abc","seq":1.5', /bad seq/],
    ['seq 1.0', '"client":"abc","seq":1.0', /bad seq/],
    ['seq 1e3', '"client":"abc","seq":1e3', /bad seq/],
    ['seq "1"', '"client":"abc","seq":"1"', /bad seq/],
    ['seq null', '"client":"abc","seq":null', /bad seq/],
    ['seq true', '"client":"abc","seq":true', /bad seq/],
    ['seq [1]', '"client":"abc","seq":[1]', /bad seq/],
    ['seq 2^53', '"client":"abc","seq":9007199254740992', /bad seq/],
    ['seq 2^63', '"client":"abc","seq":9223372036854775808', /bad seq/],
    ['seq 2^64', '"client":"abc","seq":18446744073709551616', /bad seq/],
    ['seq missing with client present', '"client":"abc"', /"client" and "seq" must be given together/],
    ['client missing with seq present', '"seq":1', /"client" and "seq" must be given together/],
    ['client ""', '"client":"","seq":0', /bad client/],
    ['client of 65 characters', `"client":"${'a'.repeat(65)}","seq":0`, /bad client.*1-64/],
    ['client with a space', '"client":"a b","seq":0', /bad client/],
    ['client with a slash', '"client":"a/b","seq":0', /bad client/],
    ['client with a dot', '"client":"a.b","seq":0', /bad client/],
    ['client with a newline', '"client":"a\\nb","seq":0', /bad client/],
    ['client with \\u0000', '"client":"a\\u0000b","seq":0', /bad client/],
    ['client with é', '"client":"caf\\u00e9","seq":0', /bad client/],
    ['client a number', '"client":5,"seq":0', /bad client/],
    ['client null', '"client":null,"seq":0', /bad client/],
    ['client an array', '"client":["a"],"seq":0', /bad client/],
    ['client an object', '"client":{"a":1},"seq":0', /bad client/],
    ['sample 0', '"sample":0', /bad sample/],
    ['sample 10001', '"sample":10001', /bad sample.*1 to 10000/],
    ['sample 1.5', '"sample":1.5', /bad sample/],
    ['sample "2"', '"sample":"2"', /bad sample/],
    ['sample -1', '"sample":-1', /bad sample/],
    ['sample null', '"sample":null', /bad sample/],
    ['sample 1e2', '"sample":1e2', /bad sample/],
    ['sample 2^64', '"sample":18446744073709551616', /bad sample/],
    ['sample 0 with client and seq', '"client":"abc","seq":0,"sample":0', /bad sample/],
    ['sample twice', '"sample":2,"sample":3', /duplicate key: "sample"/],
  ];
  for (const [what, fields, error] of cases) {
    it(`400 for ${what}`, T, async () => {
      await expectAnswer(st.s, what, post(st.s, batch(fields)), { status: 400, error });
    });
  }

  it('a 400 for a bad seq does not use up the (client, seq): the same client can still send seq 0', T, async () => {
    const s = st.s;
    const client = clientId();
    await expectAnswer(s, 'bad seq', post(s, `{"client":"${client}","seq":-1,"events":[${GOOD}]}`), { status: 400, error: /bad seq/ });
    await expectAnswer(s, 'seq 0', post(s, `{"client":"${client}","seq":0,"events":[${GOOD}]}`), {
      status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
    });
  });

  it('the edges that are valid: seq 0 and 2^53-1, client of 1 and 64 characters, sample 1 and 10000', T, async () => {
    const s = st.s;
    for (const fields of [`"client":"${clientId()}","seq":0`, `"client":"${clientId()}","seq":9007199254740991`,
      '"client":"z","seq":0', `"client":"${'Az09_-'.repeat(10)}abcd","seq":0`]) {
      await expectAnswer(s, fields, post(s, batch(fields)), {
        status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
      });
    }
    await expectAnswer(s, 'sample 1', post(s, batch('"sample":1')), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
    // sample 10000 multiplies the batch (another part of issue 7): here only
    // that it is accepted and applied.
    const before = await snapshot(s);
    const r = await s.post(batch(`"client":"${clientId()}","seq":0,"sample":10000`));
    assert.equal(r.status, 204, r.text);
    const d = diff(before, await snapshot(s)).changes;
    assert.ok(d[USAGE_CQ] === 1 || d[USAGE_CQ] === 10000, `usage_total went up by ${d[USAGE_CQ]}`);
    await assertServes(s, 'sample 10000');
  });

  itStopsCleanly(st);
});

describe('methods, Content-Type, the body limit, lying and slow bodies', () => {
  // client_body_timeout: how long nginx waits for a silent client's body.
  const st = useStack(hooks, { workers: 1, metrics: { 'seed.json': SEED_METRICS }, nginxExtra: 'client_body_timeout 2s;' });

  for (const method of ['PUT', 'DELETE', 'GET', 'PATCH']) {
    it(`405 for ${method}`, T, async () => {
      const s = st.s;
      const { r } = await expectAnswer(s, method,
        post(s, method === 'GET' ? undefined : `[${GOOD}]`, { method }),
        { status: 405, error: /method not allowed/ });
      assert.match(r.headers.get('allow') || '', /POST/);
    });
  }

  // docs/wire-format.md#batches: "sent as application/json or as text/plain"; pum-ingest's
  // contract: the Content-Type is not checked, every body is parsed as JSON.
  for (const ct of ['application/json', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/octet-stream', 'image/png', null]) {
    it(`Content-Type ${ct || 'absent'}: a JSON batch is parsed as JSON and applied`, T, async () => {
      const s = st.s;
      const b = `[${GOOD}]`;
      const send = ct ? post(s, b, { contentType: ct })
        : () => rawRequest(s.httpPort, [head([`Content-Length: ${b.length}`]), b]);
      await expectAnswer(s, `${ct}`, send, {
        status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 },
      });
    });
  }
  it('a form-encoded or multipart body is not JSON: 400', T, async () => {
    const s = st.s;
    await expectAnswer(s, 'form', post(s, 'metricName=usage_total&inc=1', { contentType: 'application/x-www-form-urlencoded' }),
      { status: 400, error: /not JSON/ });
    const mp = `--x\r\nContent-Disposition: form-data; name="b"\r\n\r\n[${GOOD}]\r\n--x--\r\n`;
    await expectAnswer(s, 'multipart', post(s, mp, { contentType: 'multipart/form-data; boundary=x' }),
      { status: 400, error: /not JSON/ });
  });

  const body = `[${GOOD}]`;
  const pad = (n) => body + ' '.repeat(n - body.length);
  it('a body of exactly --max-body-bytes (65536) is accepted', T, async () => {
    const s = st.s;
    await expectAnswer(s, '65536', post(s, pad(65536)), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });
  it('one byte over (65537) is 413 with {"error"}, nothing applied', T, async () => {
    const s = st.s;
    await expectAnswer(s, '65537', post(s, pad(65537)), { status: 413, error: /larger than 65536/ });
    await expectAnswer(s, '1 MB - 1', post(s, pad(1024 * 1024 - 1)), { status: 413, error: /larger than 65536/ });
  });

  it('a chunked body (no Content-Length from the client) under the cap is applied', T, async () => {
    const s = st.s;
    const send = () => rawRequest(s.httpPort, [head(['Transfer-Encoding: chunked', 'Content-Type: text/plain']),
      ...chunked(Buffer.from(pad(65536)), 1000)]);
    await expectAnswer(s, 'chunked 65536', send, { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });
  it('a chunked body over the cap is 413 from pum-ingest with {"error"}', T, async () => {
    const s = st.s;
    const send = () => rawRequest(s.httpPort, [head(['Transfer-Encoding: chunked', 'Content-Type: text/plain']),
      ...chunked(Buffer.from(pad(65537)), 1000)]);
    await expectAnswer(s, 'chunked 65537', send, { status: 413, error: /larger than 65536/ });
  });
  it("a chunked body over nginx's client_max_body_size (1m) is nginx's 413: pum-ingest never sees it", T, async () => {
    const s = st.s;
    const send = () => rawRequest(s.httpPort, [head(['Transfer-Encoding: chunked']),
      ...chunked(Buffer.from(pad(1024 * 1024 + 10)), 65536)]);
    await expectAnswer(s, 'chunked 1m+', send, { status: 413, changes: {} });
  });

  it('a Content-Length shorter than the body: only that prefix is the body (400, truncated), nothing applied', T, async () => {
    const s = st.s;
    const b = Buffer.from(`[${GOOD},${GOOD}]`);
    const send = () => rawRequest(s.httpPort, [head([`Content-Length: ${GOOD.length + 1}`]), b]);
    await expectAnswer(s, 'short Content-Length', send, { status: 400, error: /not JSON/ });
    // A prefix that is itself a valid batch is that batch, and the rest is
    // not applied.
    const send2 = () => rawRequest(s.httpPort, [head([`Content-Length: ${GOOD.length + 2}`]), Buffer.from(`[${GOOD}],${GOOD}]`)]);
    await expectAnswer(s, 'a valid prefix', send2, { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });
  it('a Content-Length longer than the body, then the client closes: no answer from pum, nothing applied', T, async () => {
    const s = st.s;
    const b = Buffer.from(`[${GOOD}]`);
    const send = () => rawRequest(s.httpPort, [head([`Content-Length: ${b.length + 100}`]), b], { end: true, timeout: 10000 });
    const { r } = await expectAnswer(s, 'long Content-Length, closed', send, { status: 0, changes: {} });
    assert.ok(!r.timedOut, 'nginx did not close the connection');
  });
  it('a Content-Length longer than the body, the client silent: nginx times the body out (2 s), pum sees nothing', T, async () => {
    const s = st.s;
    const b = Buffer.from(`[${GOOD}]`);
    const send = () => rawRequest(s.httpPort, [head([`Content-Length: ${b.length + 100}`]), b], { timeout: 20000 });
    // nginx closes the connection at client_body_timeout without an answer
    // (408 is logged, not sent).
    const { r } = await expectAnswer(s, 'long Content-Length, silent', send, { status: 0, changes: {} });
    assert.ok(r.ms >= 1500 && r.ms < 15000, `closed after ${r.ms} ms`);
  });
  it('a Content-Length over the cap with a small body: 413 at once', T, async () => {
    const s = st.s;
    const b = Buffer.from(`[${GOOD}]`);
    const send = () => rawRequest(s.httpPort, [head(['Content-Length: 65537']), b, Buffer.alloc(65537 - b.length, 0x20)]);
    await expectAnswer(s, 'Content-Length 65537', send, { status: 413, error: /larger than 65536/ });
    const send2 = () => rawRequest(s.httpPort, [head(['Content-Length: 99999999999']), b], { end: true });
    await expectAnswer(s, 'Content-Length 99999999999 (nginx refuses it)', send2, { status: 413, changes: {} });
  });
  it('a negative or non-numeric Content-Length is refused by nginx, pum sees nothing', T, async () => {
    const s = st.s;
    for (const cl of ['-1', 'abc', '1, 2']) {
      const send = () => rawRequest(s.httpPort, [head([`Content-Length: ${cl}`]), `[${GOOD}]`], { end: true });
      await expectAnswer(s, `Content-Length: ${cl}`, send, { status: 400, changes: {} });
    }
  });
  it('a slow body (trickled for 3 s) does not hold up other requests, and is applied when complete', T, async () => {
    const s = st.s;
    const before = await snapshot(s);
    const slow = [];
    for (let k = 0; k < 10; k++) {
      const b = Buffer.from(`{"client":"${clientId('slow')}","seq":0,"events":[${GOOD}]}`);
      const n = Math.ceil(b.length / 30);
      const pieces = [];
      for (let i = 0; i < b.length; i += n) pieces.push(b.subarray(i, i + n));
      slow.push(rawRequest(s.httpPort, [head([`Content-Length: ${b.length}`]), ...pieces], { gapMs: 100, timeout: 20000 }));
    }
    // Meanwhile, with the one worker: each valid batch is answered quickly.
    const t0 = Date.now();
    let served = 0;
    while (Date.now() - t0 < 2500) {
      const t = Date.now();
      const r = await s.post([counterEvent({ browser: 'edge', feature: 'showContent' }, 1)]);
      assert.equal(r.status, 204, r.text);
      assert.ok(Date.now() - t < 1000, `a request took ${Date.now() - t} ms while slow bodies trickled`);
      served++;
    }
    const answers = await Promise.all(slow);
    for (const r of answers) {
      assert.equal(r.status, 204, `a slow body: ${r.status} ${r.text}`);
      assert.ok(r.ms >= 2500, `a slow body was answered after ${r.ms} ms, before it was complete`);
    }
    const d = diff(before, await snapshot(s)).changes;
    assert.equal(d[USAGE_CQ], 10, 'the slow batches');
    assert.equal(d.pum_exporter_dedup_clients, 10);
    assert.equal(d[seriesKey('usage_total', { browser: 'edge', feature: 'showContent' })], served);
    assert.ok(served >= 5, `only ${served} requests served in 2.5 s`);
    await assertServes(s, 'slow bodies');
  });

  itStopsCleanly(st);
});

// Needs the 1024-seq window and the 409 answer (the lead's store.cc work).
describe('the de-duplication window (1024 seqs, 409 seq_too_old)', () => {
  const st = useStack(hooks, { workers: 1, metrics: { 'seed.json': SEED_METRICS } });
  const batch = (client, seq, inc = 1) => JSON.stringify({ client, seq, events: [counterEvent(CQ, inc)] });

  it('a replay within the window is 204 and counted once', T, async () => {
    const s = st.s;
    const client = clientId();
    await expectAnswer(s, 'seq 0', post(s, batch(client, 0)), {
      status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
    });
    await expectAnswer(s, 'seq 1023', post(s, batch(client, 1023)), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
    for (const seq of [0, 1023, 0]) {
      await expectAnswer(s, `replay ${seq}`, post(s, batch(client, seq)), {
        status: 204, changes: { [req(204)]: 1, pum_ingest_duplicate_batches_total: 1 },
      });
    }
  });

  it('a seq more than 1024 below the highest is 409 {"error":"seq_too_old"}, nothing applied', T, async () => {
    const s = st.s;
    const client = clientId();
    await expectAnswer(s, 'seq 2000', post(s, batch(client, 2000)), {
      status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
    });
    for (const seq of [975, 0, 500]) {
      await expectAnswer(s, `seq ${seq}`, post(s, batch(client, seq, 100)), {
        status: 409, json: { error: 'seq_too_old' }, changes: { [req(409)]: 1 },
      });
    }
    // 1023 below: still inside the window, never seen: applied.
    await expectAnswer(s, 'seq 977', post(s, batch(client, 977)), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });

  it('200 batches of one client in shuffled order: all 204 and all counted', T, async () => {
    const s = st.s;
    const client = clientId();
    const seqs = [...Array(200).keys()];
    for (let i = seqs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [seqs[i], seqs[j]] = [seqs[j], seqs[i]];
    }
    const before = await snapshot(s);
    const statuses = [];
    for (const seq of seqs) statuses.push((await s.post(batch(client, seq))).status);
    assert.deepEqual(statuses.filter((c) => c !== 204), [], 'answers other than 204');
    const d = diff(before, await snapshot(s));
    assert.equal(d.changes[USAGE_CQ], 200, `counted, for seqs in the order ${seqs.join(',')}`);
    assert.equal(d.changes.pum_ingest_duplicate_batches_total, undefined);
    await assertServes(s, 'shuffled');
  });

  it('seq 1000 then seq 0 of a new client: both counted', T, async () => {
    const s = st.s;
    const client = clientId();
    await expectAnswer(s, 'seq 1000', post(s, batch(client, 1000)), {
      status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
    });
    await expectAnswer(s, 'seq 0', post(s, batch(client, 0)), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });

  it('seq 165 then seq 100: both counted', T, async () => {
    const s = st.s;
    const client = clientId();
    await expectAnswer(s, 'seq 165', post(s, batch(client, 165)), {
      status: 204, changes: { ...applied(1), [USAGE_CQ]: 1, pum_exporter_dedup_clients: 1 },
    });
    await expectAnswer(s, 'seq 100', post(s, batch(client, 100)), { status: 204, changes: { ...applied(1), [USAGE_CQ]: 1 } });
  });

  itStopsCleanly(st);
});
