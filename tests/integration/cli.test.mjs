// The command lines of pum-ingest and pum-exporter (issue 8 items 5 and 6):
// each its own --help, --version with the baked-in revision, an unknown
// flag or the other binary's is an error naming it (exit 2), --log.level
// and --log.format, an empty allowlist is a warning, and the exporter's
// landing page on GET /.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { logRecords } from './logfmt.mjs';
import { BUILD_DIR, EXPORTER_BIN, INGEST_BIN, REPO, SEED_METRICS, run, waitFor } from './stack.mjs';

const T = { timeout: 30000 };
const BINS = { 'pum-ingest': INGEST_BIN, 'pum-exporter': EXPORTER_BIN };
const OWN_FLAGS = {
  'pum-ingest': ['--listen=ADDR', '--max-body-bytes=N'],
  'pum-exporter': ['--web.listen-address=HOST:PORT', '--web.config.file=FILE'],
};
const COMMON_FLAGS = ['--config.file=FILE', '--storage.path=FILE', '--metrics.dir=DIR', '--check-config',
  '--log.level=LEVEL', '--log.format=FORMAT', '--version', '--help'];
const OTHER = { 'pum-ingest': 'pum-exporter', 'pum-exporter': 'pum-ingest' };

let dir;
let metricsDir;
let emptyDir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pum-cli-'));
  metricsDir = path.join(dir, 'metrics.d');
  emptyDir = path.join(dir, 'empty.d');
  fs.mkdirSync(metricsDir);
  fs.mkdirSync(emptyDir);
  fs.writeFileSync(path.join(metricsDir, 'seed.json'), JSON.stringify(SEED_METRICS));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Starts `bin` with `args`; resolves {proc, stderr(), exited} once `ready`
// (a function of the stderr text so far) holds.
async function start(bin, args, ready) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((ok) => proc.once('exit', (code, signal) => ok({ code, signal })));
  let gone = false;
  exited.then(() => { gone = true; });
  await waitFor(() => {
    if (gone) throw new Error(`${path.basename(bin)} exited: ${stderr}`);
    return ready(stderr);
  }, { timeout: 10000, what: `${path.basename(bin)} ready (${stderr})` });
  return { proc, stderr: () => stderr, exited };
}

for (const [name, bin] of Object.entries(BINS)) {
  describe(`${name} command line`, () => {
    it('--help lists its own flags, each with one line of help, and not the other binary\'s', T, async () => {
      const r = await run(bin, ['--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.ok(r.stdout.startsWith(`Usage: ${name} [flags]\n`), r.stdout);
      for (const flag of [...COMMON_FLAGS, ...OWN_FLAGS[name]]) {
        assert.match(r.stdout, new RegExp(`\\n  ${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n        \\S`), flag);
      }
      for (const flag of OWN_FLAGS[OTHER[name]]) assert.ok(!r.stdout.includes(flag.split('=')[0] + '='), flag);
      assert.match(r.stdout, /--log\.level=LEVEL\n.*\(default: info\)\n/);
      assert.match(r.stdout, /--log\.format=FORMAT\n.*\(default: logfmt\)\n/);
    });

    it('--version prints the version and the revision it was built from, then build details', T, async () => {
      const [version, revision] = fs.readFileSync(path.join(BUILD_DIR, 'build-stamp.txt'), 'utf8').trim().split(' ');
      assert.match(version, /^\d+\.\d+\.\d+/);
      assert.match(revision, /^([0-9a-f]{7,}|unknown)$/);
      const changelog = fs.readFileSync(path.join(REPO, 'CHANGELOG.md'), 'utf8');
      assert.ok(changelog.includes(`\n## ${version}\n`), `CHANGELOG.md has a "## ${version}" section`);
      const r = await run(bin, ['--version']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], `${name}, version ${version} (revision ${revision})`);
      assert.match(lines[1], /^ {2}compiler: +\S/);
      assert.match(lines[2], /^ {2}platform: +linux\//);
    });

    // [args, message]: each exits 2 with "NAME: message\nTry NAME --help.\n".
    const bad = [
      [['--bogus'], 'unknown flag --bogus'],
      [['--log.level=trace'], 'flag --log.level needs debug, info, warn or error, not "trace"'],
      [['--log.format=text'], 'flag --log.format needs logfmt or json, not "text"'],
      [['stray'], 'unexpected argument "stray" (flags start with --)'],
      ...(name === 'pum-exporter'
        ? [
          [['--listen=127.0.0.1:9000'], 'unknown flag --listen (a flag of pum-ingest, not of pum-exporter)'],
          [['--max-body-bytes', '1000'], 'unknown flag --max-body-bytes (a flag of pum-ingest, not of pum-exporter)'],
          [['--web.listen-address=localhost'], 'flag --web.listen-address "localhost" is not HOST:PORT'],
        ]
        : [
          [['--web.listen-address=127.0.0.1:9102'], 'unknown flag --web.listen-address (a flag of pum-exporter, not of pum-ingest)'],
          [['--web.config.file', '/etc/pum/web.yml'], 'unknown flag --web.config.file (a flag of pum-exporter, not of pum-ingest)'],
          [['--listen=[::1]:9000'], 'flag --listen "[::1]:9000" is IPv6, which libfcgi cannot listen on (use an IPv4 address, a name or unix:/path)'],
        ]),
    ];
    for (const [args, message] of bad) {
      it(`${args.join(' ')}: exit 2, naming the flag`, T, async () => {
        const r = await run(bin, [`--metrics.dir=${metricsDir}`, ...args]);
        assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr },
          { code: 2, stdout: '', stderr: `${name}: ${message}\nTry ${name} --help.\n` });
      });
    }

    it('--check-config on an empty allowlist directory: a warning, not an error', T, async () => {
      const r = await run(bin, ['--check-config', `--metrics.dir=${emptyDir}`, `--storage.path=${path.join(dir, 'unused.db')}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /configuration OK/);
      assert.equal(r.stderr, `warning: ${emptyDir}: the allowlist has no metrics (no *.json file in the directory, `
        + 'or none defines one): every event will be rejected as unknown_metric\n');
    });
  });
}

describe('pum-ingest logs', () => {
  it('logfmt by default: the serving line, a warning for an empty allowlist, nothing on SIGTERM', T, async () => {
    const sock = path.join(dir, 'a.sock');
    const w = await start(INGEST_BIN, [`--listen=unix:${sock}`, `--metrics.dir=${emptyDir}`,
      `--storage.path=${path.join(dir, 'a.db')}`], (e) => e.includes('serving'));
    w.proc.kill('SIGTERM');
    assert.deepEqual(await w.exited, { code: 0, signal: null });
    const records = logRecords(w.stderr());
    assert.equal(records.length, w.stderr().trim().split('\n').length, `every line is logfmt: ${w.stderr()}`);
    for (const r of records) assert.match(r.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(records.map(({ ts, version, revision, ...r }) => r), [
      { level: 'warn', msg: 'the allowlist has no metrics (no *.json file in the directory, or none defines one): every event will be rejected as unknown_metric', dir: emptyDir },
      { level: 'info', msg: 'serving FastCGI requests', listen: `unix:${sock}`, metrics: '0' },
    ]);
  });

  it('--log.format=json: one JSON object a line; --log.level=warn drops the info lines', T, async () => {
    const sock = path.join(dir, 'b.sock');
    const args = [`--listen=unix:${sock}`, `--metrics.dir=${metricsDir}`, `--storage.path=${path.join(dir, 'b.db')}`];
    let w = await start(INGEST_BIN, [...args, '--log.format=json'], (e) => e.includes('\n'));
    w.proc.kill('SIGTERM');
    assert.deepEqual(await w.exited, { code: 0, signal: null });
    const lines = w.stderr().trim().split('\n');
    assert.equal(lines.length, 1, w.stderr());
    const record = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(record), ['ts', 'level', 'msg', 'version', 'revision', 'listen', 'metrics']);
    assert.equal(record.level, 'info');
    assert.equal(record.metrics, SEED_METRICS.allowedMetrics.length);
    assert.equal(record.listen, `unix:${sock}`);

    w = await start(INGEST_BIN, [...args, '--log.level=warn'], () => fs.existsSync(sock));
    w.proc.kill('SIGTERM');
    assert.deepEqual(await w.exited, { code: 0, signal: null });
    assert.equal(w.stderr(), '');
  });
});

describe('pum-exporter GET / and its log', () => {
  it('the landing page: version, links, the allowlist\'s metrics HTML-escaped; other paths 404', T, async () => {
    const d = path.join(dir, 'landing.d');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'x.json'), JSON.stringify({
      allowedMetrics: [{ name: 'x_total', type: 'counter', help: 'Counts <script>alert("x")</script> & more.' }],
    }));
    const e = await start(EXPORTER_BIN, [`--metrics.dir=${d}`, `--storage.path=${path.join(dir, 'landing.db')}`,
      '--web.listen-address=127.0.0.1:0'], (t) => t.includes('listening on'));
    try {
      const listening = logRecords(e.stderr()).find((r) => r.msg.startsWith('listening on'));
      const base = listening.msg.replace(/^listening on /, '').replace(/\/metrics$/, '');
      const page = await fetch(`${base}/`);
      const html = await page.text();
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      const [version] = fs.readFileSync(path.join(BUILD_DIR, 'build-stamp.txt'), 'utf8').split(' ');
      assert.match(html, new RegExp(`<p>pum-exporter, version ${version.replace(/\./g, '\\.')} \\(revision [^)]+\\)</p>`));
      for (const link of ['metrics', '-/healthy', '-/ready']) {
        assert.ok(html.includes(`<a href="${link}">/${link}</a>`), link);
        const r = await fetch(new URL(link, `${base}/`));
        await r.text();
        assert.equal(r.status, 200, link);
      }
      assert.ok(html.includes('<td><code>x_total</code></td><td>counter</td><td></td>'
        + '<td>Counts &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more.</td>'), html);
      assert.ok(!html.includes('<script'), html);
      for (const p of ['/index.html', '/x', '/metrics/']) {
        const r = await fetch(`${base}${p}`);
        await r.text();
        assert.equal(r.status, 404, p);
      }
    } finally {
      e.proc.kill('SIGTERM');
      assert.deepEqual(await e.exited, { code: 0, signal: null });
    }
    const records = logRecords(e.stderr());
    assert.deepEqual(records.map((r) => r.msg),
      ['starting pum-exporter', 'loaded the allowlist', 'listening on ' + records[2].msg.slice(13), 'stopping']);
    assert.equal(records[3].signal, 'SIGTERM');
  });
});
