// Helpers of the hostile-input tests (hostile*.test.mjs): a strict parser of
// the text exposition, a diff of two scrapes that knows which series are
// pum's own bookkeeping, a raw HTTP/1.1 client on node:net for requests
// fetch() cannot send (lying Content-Length, chunked bodies, trickled
// bodies), and expectAnswer(), the one check every bad-input case goes
// through: the documented status, a JSON {"error"} naming the problem, the
// exact change of /metrics, and a worker that still serves.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';

import { pidAlive, seriesKey } from './stack.mjs';

// ------------------------------------------------------ strict exposition

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function num(s) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

// Parses text format 0.0.4 as strictly as pum must write it, throwing on
// the first line that is not exactly one of:
//   # HELP <name> <text with only \\ and \n escapes>
//   # TYPE <name> <counter|gauge|histogram|summary|untyped>
//   <name>[{<label>="<value with only \\ \" \n escapes>",...}] <number>
// and checking that: the text is valid UTF-8 ending with a newline; each
// family has at most one HELP and one TYPE, given before its samples, and
// its samples are contiguous; a sample belongs to the family announced last
// (name, or name_bucket / _sum / _count for a histogram); no series appears
// twice; label names are valid and unique within a series; only a
// histogram's _bucket has `le`, always, as a number; counters and
// histogram counts are finite and >= 0; buckets are cumulative with
// +Inf equal to _count.
// Returns {series: Map(seriesKey -> value), raw: Map(seriesKey -> text),
// types: Map(family -> type), helps: Map(family -> text), lines}.
export function strictParse(bytes) {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  const series = new Map();
  const raw = new Map();
  const types = new Map();
  const helps = new Map();
  const closed = new Set(); // families whose samples are over
  let current = null; // the family being printed
  const fail = (i, why) => { throw new Error(`exposition line ${i + 1}: ${why}: ${JSON.stringify(lines[i])}`); };
  const open = (i, name) => {
    if (current !== name) {
      if (closed.has(name)) fail(i, `family ${name} printed in two places`);
      if (current !== null) closed.add(current);
      current = name;
    }
  };
  lines.forEach((line, i) => {
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(line);
      if (!m) fail(i, 'a comment that is neither HELP nor TYPE');
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) fail(i, 'bad family name');
      open(i, name);
      if (kind === 'HELP') {
        if (helps.has(name)) fail(i, 'HELP twice');
        if (/\\[^\\n]|\\$/.test(rest.replace(/\\\\/g, ''))) fail(i, 'a bad escape in HELP');
        helps.set(name, rest.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\')));
      } else {
        if (types.has(name)) fail(i, 'TYPE twice');
        if (!TYPES.has(rest)) fail(i, `unknown type ${rest}`);
        types.set(name, rest);
      }
      return;
    }
    let j = 0;
    while (j < line.length && /[a-zA-Z0-9_:]/.test(line[j])) j++;
    const name = line.slice(0, j);
    if (!METRIC_NAME.test(name)) fail(i, 'no metric name');
    const labels = {};
    if (line[j] === '{') {
      j++;
      for (;;) {
        if (line[j] === '}') { j++; break; }
        const start = j;
        while (j < line.length && /[a-zA-Z0-9_]/.test(line[j])) j++;
        const lname = line.slice(start, j);
        if (!LABEL_NAME.test(lname)) fail(i, 'bad label name');
        if (Object.hasOwn(labels, lname)) fail(i, `label ${lname} twice`);
        if (line[j] !== '=' || line[j + 1] !== '"') fail(i, 'expected ="');
        j += 2;
        let v = '';
        for (;;) {
          if (j >= line.length) fail(i, 'unterminated label value');
          const c = line[j++];
          if (c === '"') break;
          if (c === '\\') {
            const e = line[j++];
            if (e === '\\') v += '\\';
            else if (e === '"') v += '"';
            else if (e === 'n') v += '\n';
            else fail(i, `a bad escape \\${e} in a label value`);
          } else {
            v += c;
          }
        }
        labels[lname] = v;
        if (line[j] === ',') j++;
        else if (line[j] !== '}') fail(i, 'expected , or } after a label value');
      }
    }
    if (line[j] !== ' ') fail(i, 'expected one space before the value');
    const value = line.slice(j + 1);
    if (!NUMBER.test(value)) fail(i, `not a single number: ${JSON.stringify(value)}`);
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f));
    if (family === undefined) fail(i, 'a sample without a TYPE');
    if (family !== current) fail(i, `a sample of ${family} among the samples of ${current}`);
    const type = types.get(family);
    if (family !== name && type !== 'histogram' && type !== 'summary') fail(i, `a ${name} sample in a ${type} family`);
    const isBucket = type === 'histogram' && name === `${family}_bucket`;
    if (isBucket !== Object.hasOwn(labels, 'le')) fail(i, isBucket ? 'a bucket without le' : 'an le label outside a bucket');
    if (isBucket && !NUMBER.test(labels.le)) fail(i, `le is not a number: ${labels.le}`);
    const v = num(value);
    if ((type === 'counter' || (type === 'histogram' && name !== `${family}_sum`)) && !(Number.isFinite(v) && v >= 0)) {
      fail(i, `a ${type} value that is not finite and >= 0`);
    }
    const key = seriesKey(name, labels);
    if (series.has(key)) fail(i, 'a series twice');
    series.set(key, v);
    raw.set(key, value);
  });
  // Histograms: cumulative buckets, +Inf == _count, a _sum.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map();
    for (const [k, v] of series) {
      const s = parseKey(k);
      if (s.name !== `${family}_bucket`) continue;
      const { le, ...rest } = s.labels;
      const g = seriesKey(family, rest);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push([num(le), v]);
    }
    for (const [g, buckets] of groups) {
      buckets.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i][1] < buckets[i - 1][1]) throw new Error(`${g}: buckets not cumulative`);
      }
      const { labels } = parseKey(g);
      const count = series.get(seriesKey(`${family}_count`, labels));
      if (buckets[buckets.length - 1][0] !== Infinity || buckets[buckets.length - 1][1] !== count) {
        throw new Error(`${g}: the +Inf bucket is not _count (${count})`);
      }
      if (!series.has(seriesKey(`${family}_sum`, labels))) throw new Error(`${g}: no _sum`);
    }
  }
  return { series, raw, types, helps, lines };
}

// A seriesKey() (of a series strictParse accepted) back to {name, labels}.
export function parseKey(key) {
  const b = key.indexOf('{');
  if (b < 0) return { name: key, labels: {} };
  const labels = {};
  let j = b + 1;
  while (key[j] !== '}') {
    const start = j;
    while (key[j] !== '=') j++;
    const lname = key.slice(start, j);
    j += 2;
    let v = '';
    for (;;) {
      const c = key[j++];
      if (c === '"') break;
      if (c === '\\') {
        const e = key[j++];
        v += e === 'n' ? '\n' : e;
      } else {
        v += c;
      }
    }
    labels[lname] = v;
    if (key[j] === ',') j++;
  }
  return { name: key.slice(0, b), labels };
}

// promtool check metrics on `text`: {code, out, problems}, where problems
// are the output lines other than the lint of names the seed's allowlist
// chose (its camelCase label firebaseHost), which pum must keep.
export function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
  if (r.error) throw new Error(`promtool: ${r.error.message} (is the prometheus package installed?)`);
  const out = `${r.stdout}${r.stderr}`.trim();
  const problems = out.split('\n').filter((l) => l && !/^firebase_response_time label names should be written in 'snake_case'/.test(l));
  return { code: r.status, out, problems };
}

// ------------------------------------------------------------- the diff

// Series that change on their own (time, file sizes): never compared.
export const VOLATILE = new Set([
  'pum_exporter_scrape_duration_seconds',
  'pum_exporter_store_size_bytes',
  'pum_exporter_allowlist_last_reload_success_timestamp_seconds',
]);

// Series the store holds, pum's own counters included: the first request
// with a new status stores the row of pum_ingest_requests_total{code}. So
// it is not compared exactly but bounded (see diff()).
const STORE_SERIES = 'pum_exporter_store_series';

// pum's request and rejection counters: a series of these may appear (a
// status or reason seen for the first time) without being injected.
const SELF_COUNTERS = new Set(['pum_ingest_requests_total', 'pum_ingest_events_rejected_total']);

// GET /metrics as bytes, strictly parsed (throws on any malformed line).
export async function snapshot(s) {
  const r = await fetch(s.metricsUrl);
  const bytes = new Uint8Array(await r.arrayBuffer());
  assert.equal(r.status, 200, 'GET /metrics');
  const p = strictParse(bytes);
  p.text = new TextDecoder().decode(bytes);
  return p;
}

// {changes: {seriesKey: after - before}, appeared: [keys], gone: [keys]}
// over every series but the VOLATILE ones; a series of pum's request and
// rejection counters that appears counts as a change from 0.
export function diff(before, after) {
  const changes = {};
  const appeared = [];
  const gone = [];
  const keys = new Set([...before.series.keys(), ...after.series.keys()]);
  for (const k of keys) {
    const { name } = parseKey(k);
    if (VOLATILE.has(name) || name === STORE_SERIES) continue;
    const a = after.series.get(k);
    const b = before.series.get(k);
    if (b === undefined && !SELF_COUNTERS.has(name)) {
      appeared.push(k);
      continue;
    }
    if (a === undefined) {
      gone.push(k);
      continue;
    }
    const d = a - (b ?? 0);
    if (d !== 0 || Number.isNaN(d)) changes[k] = d;
  }
  // The store gains at most one row per series that changed or appeared,
  // and loses none.
  const stored = (after.series.get(STORE_SERIES) ?? 0) - (before.series.get(STORE_SERIES) ?? 0);
  // (The store may also write a zero row of pum's unlabelled counters:
  // pum_reports_total, _events_accepted_total, _duplicate_batches_total.)
  const most = Object.keys(changes).length + appeared.length + 3;
  if (stored < 0 || stored > most) {
    changes[STORE_SERIES] = `${stored} (expected 0..${most})`;
  }
  return { changes, appeared: appeared.sort(), gone: gone.sort() };
}

export const req = (code) => seriesKey('pum_ingest_requests_total', { code: String(code) });
export const rej = (reason) => seriesKey('pum_ingest_events_rejected_total', { reason });

// ------------------------------------------------------ the worker serves

// A valid batch right now: 204, and app_load_succeeded_total (the canary,
// touched by nothing else) goes up by exactly 1; the workers that were
// alive are still alive (none crashed and none was replaced).
export async function assertServes(s, what = '') {
  const pids = s.workerPids.slice();
  const before = await snapshot(s);
  const t0 = Date.now();
  const r = await s.post([{ metricName: 'app_load_succeeded_total', metricType: 'counter', inc: 1 }]);
  assert.equal(r.status, 204, `${what}: the next valid batch: ${r.status} ${r.text}`);
  assert.ok(Date.now() - t0 < 5000, `${what}: the next valid batch took ${Date.now() - t0} ms`);
  const after = await snapshot(s);
  assert.equal(after.series.get('app_load_succeeded_total') - before.series.get('app_load_succeeded_total'), 1,
    `${what}: the next valid batch was not counted`);
  const dead = pids.filter((p) => !pidAlive(p));
  assert.deepEqual(dead, [], `${what}: pum-ingest workers died`);
}

// Sends one request with `send()` (which returns {status, json, text}) and
// checks: the status; when `error` is given (a RegExp), a JSON body
// {"error": string} matching it; that /metrics changed by exactly
// `changes` (by default only pum_ingest_requests_total{code=status} + 1,
// and nothing appeared or went away but `appeared`); then assertServes().
// `json` (an object) is compared whole with the answer's JSON instead of
// `error`. Returns the answer and the scrape after it.
export async function expectAnswer(s, what, send, { status, error, json, changes, appeared = [], serves = true } = {}) {
  const before = await snapshot(s);
  const r = await send();
  assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.text}`);
  if (error) {
    assert.equal(typeof r.json?.error, 'string', `${what}: no JSON {"error"}: ${r.text}`);
    assert.match(r.json.error, error, `${what}: the error does not name the problem`);
  }
  if (json) assert.deepEqual(r.json, json, `${what}: the answer's body`);
  const after = await snapshot(s);
  const want = changes || (status >= 100 ? { [req(status)]: 1 } : {});
  const d = diff(before, after);
  assert.deepEqual(d.changes, want, `${what}: /metrics changed by`);
  assert.deepEqual(d.appeared, appeared.slice().sort(), `${what}: series appeared`);
  assert.deepEqual(d.gone, [], `${what}: series went away`);
  if (serves) await assertServes(s, what);
  return { r, after };
}

// ------------------------------------------------------ raw HTTP/1.1

// Parses an HTTP/1.1 response (one, from the start of `buf`): {status,
// headers, body (Buffer), json, text} or null if incomplete. Understands
// Content-Length, chunked, and read-until-close (`closed`).
export function parseResponse(buf, closed) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) throw new Error(`not an HTTP response: ${head[0]}`);
  const headers = {};
  for (const h of head.slice(1)) {
    const c = h.indexOf(':');
    headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  let body;
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const le = rest.indexOf('\r\n');
      if (le < 0) return null;
      const n = parseInt(rest.subarray(0, le).toString('latin1'), 16);
      if (rest.length < le + 2 + n + 2) return null;
      if (n === 0) break;
      parts.push(rest.subarray(le + 2, le + 2 + n));
      rest = rest.subarray(le + 2 + n + 2);
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return null;
    body = rest.subarray(0, n);
  } else {
    if (!closed && Number(m[1]) !== 204 && Number(m[1]) !== 304) return null;
    body = rest;
  }
  const text = body.toString('utf8');
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: Number(m[1]), headers, body, text, json };
}

// Opens a TCP connection to 127.0.0.1:port, writes `chunks` (Buffers or
// strings) with `gapMs` between them, optionally half-closes (`end`), and
// resolves with the first response, or {status: 0, closed: true} if the
// server closed without one, or {status: -1, timedOut: true} after
// `timeout` ms (the connection is then destroyed).
export function rawRequest(port, chunks, { gapMs = 0, end = false, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let done = false;
    const t0 = Date.now();
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...v, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish({ status: -1, timedOut: true }), timeout);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        const r = parseResponse(buf, false);
        if (r) finish(r);
      } catch (e) {
        done = true;
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (done) return;
      const r = buf.length ? parseResponse(buf, true) : null;
      finish(r || { status: 0, closed: true, raw: buf.toString('latin1') });
    });
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (done || sock.destroyed) return;
        sock.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (end && !sock.destroyed) sock.end();
    });
  });
}

// The head of a POST /record with the given extra header lines.
export function head(lines, path = '/record') {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

// `body` (a Buffer) in chunked transfer coding, in pieces of `size`.
export function chunked(body, size = 4096) {
  const out = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    out.push(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return out;
}
