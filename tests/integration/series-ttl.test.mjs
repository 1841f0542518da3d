// series_ttl end to end, on a real stack (nginx, pum-ingest workers,
// pum-exporter, SQLite; promtool on the exposition): the series of a metric
// with a pattern label that are not updated for series_ttl leave /metrics
// and the store and are counted in pum_exporter_series_expired_total, while
// the series kept updated by several posters never expire and their sum stays
// exact; a freed maxValues slot goes to a new value (not to the overflow
// value); a series that comes back starts from zero. And a kill -9 of
// pum-exporter in the middle of a long expiry pass: the next start completes
// it, nothing live is lost, integrity_check is ok, the totals are exact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  EXPORTER_BIN, counterEvent, itStopsCleanly, run, sumOf, useStack, valueOf, waitFor,
} from './stack.mjs';

const hooks = { before, after };

function sqlite(db, sql) {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, sql], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, `sqlite3 ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

const storedSeries = (db, metric) => Number(sqlite(db, `SELECT count(*) FROM series WHERE metric = '${metric}';`));

async function promtoolCheck(text) {
  const r = await run('promtool', ['check', 'metrics'], { input: text });
  return { code: r.code, out: `${r.stdout}${r.stderr}`.trim() };
}

// Posters that each POST `events()` every `everyMs` until stop(); `acked`
// counts the batches answered 204 (each applied exactly once: no retries).
function startPosters(s, n, events, everyMs) {
  const state = { acked: 0, failed: [], running: true };
  const loops = [];
  for (let i = 0; i < n; i++) {
    loops.push((async () => {
      await sleep(i * (everyMs / n));
      while (state.running) {
        try {
          const r = await s.post(events());
          if (r.status === 204) state.acked++;
          else state.failed.push(`${r.status} ${r.text}`);
        } catch (e) {
          state.failed.push(e.message);
        }
        await sleep(everyMs);
      }
    })());
  }
  return {
    state,
    async stop() {
      state.running = false;
      await Promise.all(loops);
    },
  };
}

const ROUTES = {
  name: 'route_views_total',
  help: 'Views by route.',
  type: 'counter',
  series_ttl: '2s',
  labels: [{ name: 'route', pattern: '/[a-z0-9]*', maxValues: 5 }],
};

describe('series_ttl: idle series expire, live ones stay exact', () => {
  const st = useStack(hooks, {
    metrics: { 'routes.json': { allowedMetrics: [ROUTES] } },
    config: { upkeep_interval_seconds: 1 },
    workers: 2,
  });
  const view = (route, inc = 1) => counterEvent({ route }, inc, 'route_views_total');

  it('expires the idle series, frees their slots, never the live ones', { timeout: 60000 }, async () => {
    const s = st.s;
    // Five slots: two live routes, three idle ones; a sixth value overflows.
    for (const route of ['/old0', '/old1', '/old2']) assert.equal((await s.post([view(route, 5)])).status, 204);
    const posters = startPosters(s, 3, () => [view('/live0'), view('/live1')], 150);
    await waitFor(() => posters.state.acked >= 3, { what: 'the first live posts' });
    assert.equal((await s.post([view('/extra', 2)])).status, 204);
    let m = await s.series();
    assert.equal(valueOf(m, 'route_views_total', { route: '/old0' }), 5);
    assert.equal(valueOf(m, 'route_views_total', { route: '__overflow__' }), 2, 'the cap is full: /extra overflows');
    assert.equal(valueOf(m, 'route_views_total', { route: '/extra' }), undefined);
    assert.equal(valueOf(m, 'pum_exporter_series_expired_total'), 0, 'exported at zero from the start');

    // Scrape while the idle series expire: the live ones never go back.
    const last = { '/live0': 0, '/live1': 0 };
    const wentBack = [];
    m = await waitFor(async () => {
      const now = await s.series();
      for (const route of Object.keys(last)) {
        const v = valueOf(now, 'route_views_total', { route });
        if (!(v >= last[route])) wentBack.push(`${route} went from ${last[route]} to ${v}`);
        else last[route] = v;
      }
      const idle = ['/old0', '/old1', '/old2', '__overflow__'];
      return idle.every((route) => valueOf(now, 'route_views_total', { route }) === undefined) && now;
    }, { timeout: 15000, interval: 100, what: 'the idle series to leave /metrics' });
    assert.deepEqual(wentBack, [], 'no live series was expired');
    assert.equal(valueOf(m, 'pum_exporter_series_expired_total'), 4, 'three idle routes and the overflow series');
    assert.equal(storedSeries(s.db, 'route_views_total'), 2, 'only the live series are left in the store');
    assert.equal(sqlite(s.db, "SELECT count(*) FROM label_values WHERE metric = 'route_views_total';"), '2',
      'the idle values no longer count against maxValues');

    // A freed slot goes to a new value instead of the overflow value.
    assert.equal((await s.post([view('/new', 3)])).status, 204);
    // A series that comes back starts from zero (it had 5).
    assert.equal((await s.post([view('/old0')])).status, 204);
    m = await s.series();
    assert.equal(valueOf(m, 'route_views_total', { route: '/new' }), 3);
    assert.equal(valueOf(m, 'route_views_total', { route: '/old0' }), 1);
    assert.equal(valueOf(m, 'route_views_total', { route: '__overflow__' }), undefined);

    // Live for a while longer: more than one TTL of posting.
    await sleep(3000);
    await posters.stop();
    assert.deepEqual(posters.state.failed, []);
    m = await s.series();
    assert.equal(valueOf(m, 'route_views_total', { route: '/live0' }), posters.state.acked);
    assert.equal(valueOf(m, 'route_views_total', { route: '/live1' }), posters.state.acked);
    const live = ['/live0', '/live1'].reduce((t, route) => t + valueOf(m, 'route_views_total', { route }), 0);
    assert.equal(live, 2 * posters.state.acked, 'sum() over the live routes is exact');
    assert.ok(valueOf(m, 'pum_exporter_series_expired_total') >= 4);
    assert.deepEqual(await promtoolCheck(await s.scrape()), { code: 0, out: '' });

    // Left alone, everything expires, /metrics keeps the family.
    m = await waitFor(async () => {
      const now = await s.series();
      return sumOf(now, 'route_views_total') === 0 && now;
    }, { timeout: 15000, interval: 200, what: 'every series to expire' });
    assert.equal(valueOf(m, 'pum_exporter_series_expired_total'), 8);
    assert.equal(m.types.get('route_views_total'), 'counter');
    assert.equal(storedSeries(s.db, 'route_views_total'), 0);
    assert.equal(sqlite(s.db, 'PRAGMA integrity_check;'), 'ok');
  });

  itStopsCleanly(st);
});

describe('series_ttl: kill -9 of pum-exporter in the middle of an expiry pass', () => {
  const BULK = 10000; // idle series: a pass of many transactions
  const st = useStack(hooks, {
    metrics: {
      'bulk.json': {
        allowedMetrics: [{
          name: 'bulk_total', help: 'Many series.', type: 'counter', series_ttl: '3s',
          labels: [{ name: 'id', pattern: '[a-z0-9]+', maxValues: 100000 }],
        }],
      },
    },
    config: { upkeep_interval_seconds: 1 },
    workers: 2,
  });
  const bulk = (id, inc = 1) => counterEvent({ id }, inc, 'bulk_total');

  it('the restarted exporter completes the pass; nothing live is lost', { timeout: 120000 }, async () => {
    const s = st.s;
    // The exporter is down while the idle series are written, so that none
    // expires before all are in.
    await s.killExporter('SIGTERM');
    for (let i = 0; i < BULK; i += 500) {
      const events = [];
      for (let j = i; j < i + 500; j++) events.push(bulk(`idle${j}`));
      const r = await s.post(events);
      assert.equal(r.status, 204, r.text);
    }
    const LIVE = ['live0', 'live1', 'live2'];
    const posters = startPosters(s, 3, () => LIVE.map((id) => bulk(id)), 100);
    await waitFor(() => posters.state.acked >= 3, { what: 'the first live posts' });
    assert.equal(storedSeries(s.db, 'bulk_total'), BULK + LIVE.length);
    await sleep(3500); // the idle series are now older than series_ttl

    await s.startExporter();
    // Kill it as soon as its first expiry transaction has committed.
    let count;
    await waitFor(() => {
      count = storedSeries(s.db, 'bulk_total');
      return count < BULK + LIVE.length;
    }, { timeout: 20000, interval: 1, what: 'the expiry pass to start' });
    const killed = await s.killExporter('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    const left = storedSeries(s.db, 'bulk_total');
    assert.ok(left > LIVE.length, `the pass was cut short (${left} series left, ${count} when killed)`);
    assert.equal(sqlite(s.db, 'PRAGMA integrity_check;'), 'ok');

    // Started again: its first round completes the pass.
    await s.startExporter();
    await waitFor(() => storedSeries(s.db, 'bulk_total') === LIVE.length,
      { timeout: 60000, interval: 100, what: 'the pass to complete' });
    const m = await s.series();
    assert.equal(valueOf(m, 'pum_exporter_series_expired_total'), left - LIVE.length,
      'this exporter expired what the killed one left, and no live series');
    await posters.stop();
    assert.deepEqual(posters.state.failed, []);
    const after = await s.series();
    for (const id of LIVE) {
      assert.equal(valueOf(after, 'bulk_total', { id }), posters.state.acked, `bulk_total{id="${id}"} is exact`);
    }
    assert.equal(sumOf(after, 'bulk_total'), LIVE.length * posters.state.acked);
    assert.equal(storedSeries(s.db, 'bulk_total'), LIVE.length);
    assert.equal(sqlite(s.db, "SELECT count(*) FROM label_values WHERE metric = 'bulk_total';"), String(LIVE.length));
    assert.equal(sqlite(s.db, 'PRAGMA integrity_check;'), 'ok');
    assert.deepEqual(await promtoolCheck(await s.scrape()), { code: 0, out: '' });
  });

  itStopsCleanly(st);
});

describe('series_ttl in pum-exporter --check-config', () => {
  let dir;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-ttl-check-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const check = async (name, metric) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'm.json'), `{"allowedMetrics": [\n${JSON.stringify(metric)}\n]}\n`);
    return run(EXPORTER_BIN, ['--check-config', `--metrics.dir=${d}`, `--storage.path=${path.join(dir, 'unused.db')}`],
      { timeout: 10000 });
  };

  it('accepts a duration on a metric with a pattern label', { timeout: 30000 }, async () => {
    for (const [i, ttl] of ['30d', '1h30m', '2s', '1500ms', '1y2w'].entries()) {
      const r = await check(`good${i}`, { ...ROUTES, series_ttl: ttl });
      assert.equal(r.code, 0, `${ttl}: ${r.stderr}${r.stdout}`);
    }
  });

  it('refuses a malformed one, or one on an enumerated-only metric, with file and line', { timeout: 30000 }, async () => {
    const cases = [
      [{ ...ROUTES, series_ttl: '30 days' }, /m\.json:2: metric "route_views_total": "series_ttl" must be a duration/],
      [{ ...ROUTES, series_ttl: '1m1h' }, /m\.json:2: .*"series_ttl" must be a duration/],
      [{ ...ROUTES, series_ttl: '500ms' }, /m\.json:2: .*"series_ttl" must be a duration from 1s/],
      [{ ...ROUTES, series_ttl: 30 }, /m\.json:2: .*"series_ttl" must be a duration/],
      [{ ...ROUTES, labels: [{ name: 'route', allowedValues: ['/a'] }] },
        /m\.json:2: metric "route_views_total": "series_ttl" needs a label with "pattern"/],
      [{ ...ROUTES, labels: [] }, /m\.json:2: .*"series_ttl" needs a label with "pattern"/],
    ];
    for (const [i, [metric, want]] of cases.entries()) {
      const r = await check(`bad${i}`, metric);
      assert.notEqual(r.code, 0, JSON.stringify(metric));
      assert.match(r.stderr + r.stdout, want);
    }
  });
});
