// The shipped web server snippets of deploy/, in the real servers from
// Debian's packages, on loopback: nginx (deploy/nginx/), lighttpd in both
// ways of running workers (deploy/lighttpd/: "bin-path", lighttpd spawns
// them; "socket", spawn-fcgi starts them) and Apache in both (deploy/apache/:
// mod_proxy_fcgi to spawn-fcgi workers; mod_fcgid spawning them). Each
// server gets a minimal config written here that includes the shipped
// snippets with their install paths pointed at this test's files (socket,
// binaries, pum.json, $BUILD for /usr/local/share/pum), and pum-exporter
// reads the same store. For each: batches of both wire shapes and the
// totals on /metrics, the CORS preflight, pum.js at both paths, the 64 KiB
// cap, the rate limit per client address (429), and that stopping leaves no
// process behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { BUILD_DIR, INGEST_BIN, SEED_METRICS, Stack, freePort } from '../integration/stack.mjs';
import { nginxConfig } from '../support/nginx.mjs';
import {
  DEPLOY, burst, commonChecks, fillIn, ingestRequests, noteDescendants, processesMatching, readLog, startServer,
  stopServer, tally,
} from './webservers.mjs';

const T = { timeout: 20000 };
const IS_ROOT = process.getuid && process.getuid() === 0;
const APACHE_MODULES = '/usr/lib/apache2/modules';
const WWW_DATA = (() => {
  const r = spawnSync('id', ['-u', 'www-data'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'www-data'], { encoding: 'utf8' });
  return r.status === 0 ? { uid: Number(r.stdout), gid: Number(g.stdout) } : null;
})();

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

// Registers a describe() for one server: `setup(ctx)` writes its config
// into ctx.ws and returns {cmd, args}; `opts.workers` pum-ingest workers
// are started by spawn-fcgi on ctx.stack.sock (0: the server spawns them).
// `extra(it, ctx)` adds server-specific tests before the rate limit;
// `rateLimit(ctx)` checks the limit; the last test stops everything and
// looks for leftovers.
function serverSuite(title, { workers, skip, setup, extra, rateLimit, prepareStore }) {
  // A missing server or module is a failure, not a skip: `make deps`
  // installs every package these tests need.
  if (skip) {
    it(`${title}: its packages are installed`, () => assert.fail(`${skip} (make deps installs it)`));
    return;
  }
  describe(title, () => {
    const ctx = {};
    before(async () => {
      ctx.stack = new Stack({ workers, nginx: false, metrics: { 'seed.json': SEED_METRICS } });
      try {
        await ctx.stack.start();
        ctx.ws = path.join(ctx.stack.dir, 'ws');
        fs.mkdirSync(path.join(ctx.ws, 'www'), { recursive: true });
        // Web servers that drop root (Apache) must reach the socket and
        // their files.
        fs.chmodSync(ctx.stack.dir, 0o755);
        // pum.json for the workers a server spawns itself: the same store
        // and allowlist as the exporter's.
        fs.writeFileSync(path.join(ctx.ws, 'pum.json'), JSON.stringify({
          storage_path: ctx.stack.db, metrics_dir: ctx.stack.metricsDir,
        }, null, 2));
        if (prepareStore) prepareStore(ctx);
        ctx.port = await freePort();
        ctx.base = `http://127.0.0.1:${ctx.port}`;
        const { cmd, args } = setup(ctx);
        ctx.srv = await startServer({ name: title.split(':')[0], cmd, args, port: ctx.port, logFile: path.join(ctx.ws, 'server.log') });
      } catch (e) {
        await stopServer(ctx.srv);
        await ctx.stack.stopAll();
        throw e;
      }
    });
    after(async () => {
      await stopServer(ctx.srv);
      if (ctx.stack) await ctx.stack.stopAll();
    });

    commonChecks(it, () => ctx, T);
    if (extra) extra(it, ctx);
    it('rate-limits per client address', T, async () => {
      try {
        await rateLimit(ctx);
      } catch (e) {
        e.message += `\n--- server log:\n${readLog(path.join(ctx.ws, 'server.log'))}`;
        throw e;
      }
    });
    it('stops: no web server, worker or exporter of this test is left', T, async () => {
      noteDescendants(ctx.srv);
      const forced = await stopServer(ctx.srv);
      assert.deepEqual(forced, [], 'processes of the server that outlived it (killed now)');
      await ctx.stack.stopAll();
      assert.deepEqual(processesMatching(ctx.stack.dir), [], `processes still running with ${ctx.stack.dir}`);
    });
  });
}

// A token-bucket limit (nginx limit_req, lighttpd's Lua script): `rate` a
// second after a burst of `burstSize`. Sends twice the burst in a row and
// checks what passed against the bucket, and that refused requests never
// reached a worker.
async function checkTokenBucket(ctx, { rate, burstSize, retryAfter }) {
  const before = ingestRequests(await ctx.stack.series());
  const n = 2 * burstSize + 50;
  const b = await burst(ctx.base, n);
  const msg = `${n} requests in ${b.ms} ms: ${tally(b.statuses)}`;
  assert.equal(b.passed + b.refused, n, `only 204 and 429 expected: ${msg}`);
  assert.ok(b.refused > 0, `no 429: ${msg}`);
  // The bucket held at most burstSize tokens at the start (earlier tests
  // used a few), and refilled `rate` a second while the burst ran.
  const most = burstSize + 1 + Math.ceil((rate * b.ms) / 1000) + 1;
  assert.ok(b.passed <= most, `more passed than the bucket allows (${most}): ${msg}`);
  assert.ok(b.passed >= burstSize - 20, `fewer passed than the burst (${burstSize}): ${msg}`);
  // Refused requests were answered by the web server: pum-ingest counted
  // exactly the ones that passed.
  const after = ingestRequests(await ctx.stack.series());
  assert.equal(after - before, b.passed, `pum-ingest answered ${after - before}: ${msg}`);
  if (retryAfter) assert.match(b.first429.headers['retry-after'] || '', /^\d+$/, 'Retry-After on 429');
  return b;
}

// ------------------------------------------------------------------ nginx

serverSuite('nginx: pum.conf with pum-ratelimit.conf, pum-http.conf, pum-client.conf; spawn-fcgi workers', {
  workers: 2,
  skip: !have('nginx') && 'nginx is not installed',
  setup(ctx) {
    const ws = ctx.ws;
    fs.mkdirSync(path.join(ws, 'nginx'));
    // As a user turns the limit on: the commented include line of pum.conf
    // un-commented, pum-http.conf in http {}.
    fs.writeFileSync(path.join(ws, 'pum.conf'), fillIn('nginx/pum.conf', [
      ['unix:/run/pum/ingest.sock', `unix:${ctx.stack.sock}`],
      ['#include /etc/nginx/snippets/pum-ratelimit.conf;', `include ${ws}/pum-ratelimit.conf;`],
    ]));
    fs.writeFileSync(path.join(ws, 'pum-ratelimit.conf'), fillIn('nginx/pum-ratelimit.conf', []));
    fs.writeFileSync(path.join(ws, 'pum-http.conf'), fillIn('nginx/pum-http.conf', []));
    fs.writeFileSync(path.join(ws, 'pum-client.conf'), fillIn('nginx/pum-client.conf', [
      ['/usr/local/share/pum/', `${BUILD_DIR}/`],
    ]));
    fs.writeFileSync(path.join(ws, 'nginx.conf'), nginxConf(ws, ctx.port, 'include pum-http.conf;', 'pum.conf'));
    return { cmd: 'nginx', args: ['-p', `${ws}/`, '-c', path.join(ws, 'nginx.conf'), '-e', path.join(ws, 'nginx-error.log')] };
  },
  extra(it2, ctx) {
    it2('pum.conf as shipped (limit off) works without pum-http.conf, as make run includes it; with the limit on it needs the zone', T, () => {
      const ws = ctx.ws;
      fs.writeFileSync(path.join(ws, 'plain.conf'), fillIn('nginx/pum.conf', [['unix:/run/pum/ingest.sock', `unix:${ctx.stack.sock}`]]));
      fs.writeFileSync(path.join(ws, 'nginx-plain.conf'), nginxConf(ws, ctx.port, '', 'plain.conf'));
      const t = (conf) => spawnSync('nginx', ['-t', '-q', '-p', `${ws}/`, '-c', path.join(ws, conf), '-e', path.join(ws, 'nginx-t.log')],
        { encoding: 'utf8', timeout: 10000 });
      const plain = t('nginx-plain.conf');
      assert.equal(plain.status, 0, `nginx -t: ${plain.stderr}`);
      fs.writeFileSync(path.join(ws, 'nginx-nozone.conf'), nginxConf(ws, ctx.port, '', 'pum.conf'));
      const nozone = t('nginx-nozone.conf');
      assert.notEqual(nozone.status, 0, 'pum-ratelimit.conf without pum-http.conf should fail nginx -t');
      assert.match(nozone.stderr, /zone/);
    });
  },
  async rateLimit(ctx) {
    const http = fs.readFileSync(path.join(DEPLOY, 'nginx/pum-http.conf'), 'utf8');
    const loc = fs.readFileSync(path.join(DEPLOY, 'nginx/pum-ratelimit.conf'), 'utf8');
    const rate = Number(/^limit_req_zone .* rate=(\d+)r\/s;/m.exec(http)[1]);
    const burstSize = Number(/^limit_req zone=pum burst=(\d+) nodelay;/m.exec(loc)[1]);
    assert.match(loc, /^limit_req_status 429;/m);
    await checkTokenBucket(ctx, { rate, burstSize });
  },
});

// nginx's own config around the shipped snippets: pum-http.conf (if
// `httpExtra` includes it) in http {}, `locationFile` and pum-client.conf
// in the server.
function nginxConf(ws, port, httpExtra, locationFile) {
  return nginxConfig({
    writtenBy: 'tests/deploy/webservers.test.mjs',
    nginxDir: `${ws}/nginx`,
    port,
    errorLog: `${ws}/nginx-error.log`,
    workerConnections: 256,
    http: httpExtra,
    server: [`include ${locationFile};`, 'include pum-client.conf;', 'location / { return 404; }'],
  });
}

// --------------------------------------------------------------- lighttpd

const LIGHTTPD_MAGNET = '/usr/lib/lighttpd/mod_magnet.so';

function lighttpdConfig(ctx, snippet) {
  const ws = ctx.ws;
  const common = [['/usr/local/share/pum/', `${BUILD_DIR}/`]];
  const pairs = snippet === 'pum-fastcgi-spawn.conf' ? [
    ['/run/lighttpd/pum-ingest.sock', path.join(ws, 'lighttpd-ingest.sock')],
    ['/usr/local/libexec/pum/pum-ingest-wrapper.sh', path.join(DEPLOY, 'lighttpd', 'pum-ingest-wrapper.sh')],
    ['/usr/local/bin/pum-ingest', INGEST_BIN],
    ['/etc/pum/pum.json', path.join(ws, 'pum.json')],
  ] : [['/run/pum/ingest.sock', ctx.stack.sock]];
  fs.writeFileSync(path.join(ws, snippet), fillIn(`lighttpd/${snippet}`, [...pairs, ...common]));
  fs.writeFileSync(path.join(ws, 'pum-ratelimit.conf'), fillIn('lighttpd/pum-ratelimit.conf', [
    ['/etc/lighttpd/pum-ratelimit.lua', path.join(DEPLOY, 'lighttpd', 'pum-ratelimit.lua')],
  ]));
  fs.writeFileSync(path.join(ws, 'lighttpd.conf'), `# written by tests/deploy/webservers.test.mjs
server.document-root = "${ws}/www"
server.bind = "127.0.0.1"
server.port = ${ctx.port}
server.errorlog = "${ws}/lighttpd-error.log"
server.upload-dirs = ( "${ws}" )
include "${ws}/${snippet}"
include "${ws}/pum-ratelimit.conf"
`);
  return { cmd: 'lighttpd', args: ['-D', '-f', path.join(ws, 'lighttpd.conf')] };
}

async function lighttpdRateLimit(ctx) {
  const lua = fs.readFileSync(path.join(DEPLOY, 'lighttpd/pum-ratelimit.lua'), 'utf8');
  const rate = Number(/^local RATE = (\d+)/m.exec(lua)[1]);
  const burstSize = Number(/^local BURST = (\d+)/m.exec(lua)[1]);
  await checkTokenBucket(ctx, { rate, burstSize, retryAfter: true });
}

const lighttpdSkip = (!have('lighttpd') && 'lighttpd is not installed')
  || (!fs.existsSync(LIGHTTPD_MAGNET) && `${LIGHTTPD_MAGNET} is missing (Debian package lighttpd-modules-lua; make deps)`);

serverSuite('lighttpd: pum-fastcgi-spawn.conf (lighttpd spawns the workers via pum-ingest-wrapper.sh) + pum-ratelimit.conf', {
  workers: 0,
  skip: lighttpdSkip,
  setup: (ctx) => lighttpdConfig(ctx, 'pum-fastcgi-spawn.conf'),
  extra(it2, ctx) {
    it2('lighttpd started max-procs workers with the wrapper\'s flags', T, () => {
      const conf = fs.readFileSync(path.join(DEPLOY, 'lighttpd/pum-fastcgi-spawn.conf'), 'utf8');
      const maxProcs = Number(/"max-procs" => (\d+)/.exec(conf)[1]);
      const workers = processesMatching(`${INGEST_BIN} --config.file=${path.join(ctx.ws, 'pum.json')}`);
      assert.equal(workers.length, maxProcs, JSON.stringify(workers));
    });
  },
  rateLimit: lighttpdRateLimit,
});

serverSuite('lighttpd: pum-fastcgi-socket.conf (spawn-fcgi workers on a unix socket) + pum-ratelimit.conf', {
  workers: 2,
  skip: lighttpdSkip,
  setup: (ctx) => lighttpdConfig(ctx, 'pum-fastcgi-socket.conf'),
  rateLimit: lighttpdRateLimit,
});

// ----------------------------------------------------------------- Apache

const QOS = `${APACHE_MODULES}/mod_qos.so`;
const FCGID = `${APACHE_MODULES}/mod_fcgid.so`;

// A self-contained Apache config: the snippet inside a <VirtualHost> (as a
// site includes it), pum-ratelimit.conf at server level (mod_qos's
// per-client rules are valid only there).
function apacheConfig(ctx, snippet, modules, serverExtra = '') {
  const ws = ctx.ws;
  const pairs = snippet === 'pum-fcgid.conf' ? [
    ['/usr/local/bin/pum-ingest', INGEST_BIN],
    ['/etc/pum/pum.json', path.join(ws, 'pum.json')],
  ] : [['unix:/run/pum/ingest.sock', `unix:${ctx.stack.sock}`]];
  fs.writeFileSync(path.join(ws, snippet), fillIn(`apache/${snippet}`, [...pairs, ['/usr/local/share/pum', BUILD_DIR]]));
  fs.writeFileSync(path.join(ws, 'pum-ratelimit.conf'), fillIn('apache/pum-ratelimit.conf', []));
  const load = ['mpm_event', 'authz_core', 'alias', 'headers', 'setenvif', ...modules]
    .map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join('\n');
  fs.writeFileSync(path.join(ws, 'apache.conf'), `# written by tests/deploy/webservers.test.mjs
ServerRoot "${ws}"
ServerName 127.0.0.1
Listen 127.0.0.1:${ctx.port}
PidFile "${ws}/httpd.pid"
ErrorLog "${ws}/apache-error.log"
LogLevel warn
Mutex file:${ws}
${IS_ROOT ? 'User www-data\nGroup www-data' : ''}
${load}
${serverExtra}
Include "${ws}/pum-ratelimit.conf"
DocumentRoot "${ws}/www"
<VirtualHost 127.0.0.1:${ctx.port}>
    ServerName 127.0.0.1
    Include "${ws}/${snippet}"
</VirtualHost>
`);
  return { cmd: 'apache2', args: ['-f', path.join(ws, 'apache.conf'), '-DFOREGROUND'] };
}

// mod_qos: a fixed window per address; the request that reaches the count
// and every later one in the window get 429.
async function apacheRateLimit(ctx) {
  const conf = fs.readFileSync(path.join(DEPLOY, 'apache/pum-ratelimit.conf'), 'utf8');
  const [, max] = /^QS_ClientEventLimitCount (\d+) (\d+) PUM_RECORD$/m.exec(conf).map(Number);
  assert.match(conf, /^QS_ErrorResponseCode 429$/m);
  const before = ingestRequests(await ctx.stack.series());
  const n = max + 50;
  const b = await burst(ctx.base, n);
  const msg = `${n} requests in ${b.ms} ms: ${tally(b.statuses)}`;
  assert.equal(b.passed + b.refused, n, `only 204 and 429 expected: ${msg}`);
  assert.ok(b.refused >= 50, `fewer than 50 got 429: ${msg}`);
  // Earlier tests of this server sent about 15 requests to /record, which
  // count in the same window.
  assert.ok(b.passed <= max - 1 && b.passed >= max - 1 - 30, `passed ${b.passed}, window of ${max}: ${msg}`);
  const first = b.statuses.indexOf(429);
  assert.ok(b.statuses.slice(first).every((s) => s === 429), `a 204 after the first 429 in the window: ${msg}`);
  const after = ingestRequests(await ctx.stack.series());
  assert.equal(after - before, b.passed, `pum-ingest answered ${after - before}: ${msg}`);
}

const apacheSkip = (!have('apache2') && 'apache2 is not installed')
  || (!fs.existsSync(QOS) && `${QOS} is missing (Debian package libapache2-mod-qos; make deps)`)
  || (IS_ROOT && !WWW_DATA && 'no www-data user for Apache to run as');

serverSuite('Apache: pum-proxy-fcgi.conf (mod_proxy_fcgi to spawn-fcgi workers) + pum-ratelimit.conf (mod_qos)', {
  workers: 2,
  skip: apacheSkip,
  setup: (ctx) => apacheConfig(ctx, 'pum-proxy-fcgi.conf', ['proxy', 'proxy_fcgi']),
  rateLimit: apacheRateLimit,
});

serverSuite('Apache: pum-fcgid.conf (mod_fcgid spawns the workers) + pum-ratelimit.conf (mod_qos)', {
  workers: 0,
  skip: apacheSkip || (!fs.existsSync(FCGID) && `${FCGID} is missing (libapache2-mod-fcgid)`),
  // mod_fcgid's workers run as Apache's user: the store and its directory
  // must be theirs (the exporter, root here, still reads and writes them).
  prepareStore(ctx) {
    const fcgid = path.join(ctx.ws, 'fcgid');
    fs.mkdirSync(fcgid);
    if (!IS_ROOT) return;
    const { uid, gid } = WWW_DATA;
    for (const f of [ctx.stack.dir, fcgid, ...['', '-wal', '-shm'].map((s) => `${ctx.stack.db}${s}`)]) {
      if (fs.existsSync(f)) fs.chownSync(f, uid, gid);
    }
  },
  setup: (ctx) => apacheConfig(ctx, 'pum-fcgid.conf', ['fcgid'],
    `FcgidIPCDir "${ctx.ws}/fcgid"\nFcgidProcessTableFile "${ctx.ws}/fcgid/shm"`),
  extra(it2, ctx) {
    it2('mod_fcgid started the workers (at most FcgidMaxProcessesPerClass), as Apache\'s user', T, () => {
      const conf = fs.readFileSync(path.join(DEPLOY, 'apache/pum-fcgid.conf'), 'utf8');
      const most = Number(/^FcgidMaxProcessesPerClass (\d+)$/m.exec(conf)[1]);
      const workers = processesMatching(`${INGEST_BIN} --config.file=${path.join(ctx.ws, 'pum.json')}`);
      assert.ok(workers.length >= 1 && workers.length <= most, JSON.stringify(workers));
      if (IS_ROOT) {
        for (const w of workers) {
          const status = fs.readFileSync(`/proc/${w.pid}/status`, 'utf8');
          assert.match(status, new RegExp(`^Uid:\\s+${WWW_DATA.uid}\\s`, 'm'), `worker ${w.pid} is not www-data`);
        }
      }
    });
  },
  rateLimit: apacheRateLimit,
});
