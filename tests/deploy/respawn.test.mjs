// The web servers that start pum-ingest themselves replace a dead worker:
// lighttpd with deploy/lighttpd/pum-fastcgi-spawn.conf ("bin-path") and
// Apache with deploy/apache/pum-fcgid.conf (mod_fcgid), each from Debian's
// packages on loopback with the shipped snippet. Under a continuous load
// (posters retrying each batch until acknowledged), workers are killed with
// SIGKILL one at a time and then all at once: the server starts new ones,
// the next requests are served (204), and /metrics counts exactly the
// acknowledged batches. (systemd's Restart= is checked statically in
// install.test.mjs: no systemd runs as PID 1 on the test machines; make
// run's supervisor in tests/integration/run-local-supervise.test.mjs.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { BUILD_DIR, INGEST_BIN, SEED_METRICS, Stack, freePort, pidAlive, valueOf, waitFor } from '../integration/stack.mjs';
import { makePosters, postStatus, statusTally } from '../integration/faults-load.mjs';
import {
  DEPLOY, fillIn, noteDescendants, processesMatching, readLog, startServer, stopServer,
} from './webservers.mjs';

const IS_ROOT = process.getuid && process.getuid() === 0;
const APACHE_MODULES = '/usr/lib/apache2/modules';
const FCGID = `${APACHE_MODULES}/mod_fcgid.so`;

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function wwwData() {
  const u = spawnSync('id', ['-u', 'www-data'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'www-data'], { encoding: 'utf8' });
  return u.status === 0 ? { uid: Number(u.stdout), gid: Number(g.stdout) } : null;
}

function lighttpdSetup(ctx) {
  const ws = ctx.ws;
  fs.writeFileSync(path.join(ws, 'pum.conf'), fillIn('lighttpd/pum-fastcgi-spawn.conf', [
    ['/run/lighttpd/pum-ingest.sock', path.join(ws, 'lighttpd-ingest.sock')],
    ['/usr/local/libexec/pum/pum-ingest-wrapper.sh', path.join(DEPLOY, 'lighttpd', 'pum-ingest-wrapper.sh')],
    ['/usr/local/bin/pum-ingest', INGEST_BIN],
    ['/etc/pum/pum.json', path.join(ws, 'pum.json')],
    ['/usr/local/share/pum/', `${BUILD_DIR}/`],
  ]));
  fs.writeFileSync(path.join(ws, 'lighttpd.conf'), `# written by tests/deploy/respawn.test.mjs
server.document-root = "${ws}/www"
server.bind = "127.0.0.1"
server.port = ${ctx.port}
server.errorlog = "${ws}/error.log"
server.upload-dirs = ( "${ws}" )
include "${ws}/pum.conf"
`);
  return { cmd: 'lighttpd', args: ['-D', '-f', path.join(ws, 'lighttpd.conf')] };
}

function apacheSetup(ctx) {
  const ws = ctx.ws;
  fs.mkdirSync(path.join(ws, 'fcgid'));
  if (IS_ROOT) {
    // mod_fcgid's workers run as Apache's user: the store must be theirs.
    const { uid, gid } = wwwData();
    for (const f of [ctx.stack.dir, path.join(ws, 'fcgid'), ...['', '-wal', '-shm'].map((s) => `${ctx.stack.db}${s}`)]) {
      if (fs.existsSync(f)) fs.chownSync(f, uid, gid);
    }
  }
  fs.writeFileSync(path.join(ws, 'pum.conf'), fillIn('apache/pum-fcgid.conf', [
    ['/usr/local/bin/pum-ingest', INGEST_BIN],
    ['/etc/pum/pum.json', path.join(ws, 'pum.json')],
    ['/usr/local/share/pum', BUILD_DIR],
  ]));
  const load = ['mpm_event', 'authz_core', 'alias', 'headers', 'fcgid']
    .map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join('\n');
  fs.writeFileSync(path.join(ws, 'apache.conf'), `# written by tests/deploy/respawn.test.mjs
ServerRoot "${ws}"
ServerName 127.0.0.1
Listen 127.0.0.1:${ctx.port}
PidFile "${ws}/httpd.pid"
ErrorLog "${ws}/error.log"
LogLevel warn
Mutex file:${ws}
${IS_ROOT ? 'User www-data\nGroup www-data' : ''}
${load}
FcgidIPCDir "${ws}/fcgid"
FcgidProcessTableFile "${ws}/fcgid/shm"
DocumentRoot "${ws}/www"
<VirtualHost 127.0.0.1:${ctx.port}>
    ServerName 127.0.0.1
    Include "${ws}/pum.conf"
</VirtualHost>
`);
  return { cmd: 'apache2', args: ['-f', path.join(ws, 'apache.conf'), '-DFOREGROUND'] };
}

function respawnSuite(title, { skip, setup, kills, gapMs, expectWorkers }) {
  if (skip) {
    it(`${title}: its packages are installed`, () => assert.fail(`${skip} (make deps installs it)`));
    return;
  }
  describe(title, () => {
    const ctx = {};
    before(async () => {
      ctx.stack = new Stack({ workers: 0, nginx: false, metrics: { 'seed.json': SEED_METRICS } });
      try {
        await ctx.stack.start();
        ctx.ws = path.join(ctx.stack.dir, 'ws');
        fs.mkdirSync(path.join(ctx.ws, 'www'), { recursive: true });
        fs.chmodSync(ctx.stack.dir, 0o755);
        fs.writeFileSync(path.join(ctx.ws, 'pum.json'), JSON.stringify({
          storage_path: ctx.stack.db, metrics_dir: ctx.stack.metricsDir,
        }, null, 2));
        ctx.port = await freePort();
        ctx.record = `http://127.0.0.1:${ctx.port}/record`;
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

    const workers = () => processesMatching(`${INGEST_BIN} --config.file=${path.join(ctx.ws, 'pum.json')}`).map((w) => w.pid);

    it(`kill -9 of workers under load (${kills} one by one, then all at once): new ones are started, requests are served and counted exactly`,
      { timeout: 90000 }, async (t) => {
      // A first request: mod_fcgid starts workers on demand.
      assert.equal(await postStatus(ctx.record, '[]'), 204);
      await waitFor(() => workers().length > 0, { timeout: 5000, what: 'a pum-ingest worker' });
      const posters = makePosters({
        url: () => ctx.record, n: 3, prefix: 'respawn',
        values: { browser: ['chrome', 'firefox', 'safari'], feature: ['showContent'] },
      });
      posters.forEach((p) => p.start());
      const killed = [];
      const ackedAt = () => posters.reduce((n, p) => n + p.acked, 0);
      try {
        for (let k = 0; k < kills; k++) {
          // Wait for traffic to be served between two kills: the server
          // has replaced the worker (or another one serves).
          const before = ackedAt();
          await waitFor(() => ackedAt() >= before + 5, { timeout: 20000, what: `batches acknowledged after kill ${k}` });
          await sleep(gapMs * (0.5 + Math.random()));
          const live = workers().filter((p) => !killed.includes(p));
          assert.ok(live.length > 0, 'no worker to kill');
          const victim = live[Math.floor(Math.random() * live.length)];
          process.kill(victim, 'SIGKILL');
          killed.push(victim);
          noteDescendants(ctx.srv);
        }
        const before = ackedAt();
        await waitFor(() => ackedAt() >= before + 5, { timeout: 20000, what: 'batches acknowledged after the last kill' });
        const all = workers();
        t.diagnostic(`workers before the kill of all: ${all.length}`);
        for (const p of all) process.kill(p, 'SIGKILL');
        killed.push(...all);
        const after = ackedAt();
        await waitFor(() => ackedAt() >= after + 20, { timeout: 30000, what: 'batches acknowledged after every worker was killed' });
      } catch (e) {
        e.message += `\n--- statuses: ${JSON.stringify(statusTally(posters))}\n--- server log:\n${readLog(path.join(ctx.ws, 'error.log'))}`;
        throw e;
      } finally {
        await Promise.all(posters.map((p) => p.finish()));
      }
      assert.deepEqual(killed.filter(pidAlive), [], 'killed workers still alive');
      const now = workers();
      assert.ok(now.length > 0 && now.every((p) => !killed.includes(p)), `new workers: ${now} (killed: ${killed})`);
      if (expectWorkers) {
        // Back to the configured number of workers.
        await waitFor(() => workers().length === expectWorkers(), { timeout: 10000, what: `${expectWorkers()} workers again` });
      }
      // The next requests are served at the first try.
      for (let i = 0; i < 5; i++) {
        assert.equal(await postStatus(ctx.record, JSON.stringify([{ metricName: 'usage_total', metricType: 'counter',
          labels: { browser: 'edge', feature: 'showContent' }, inc: 1 }])), 204, `request ${i} after the kills`);
      }
      const m = await ctx.stack.series();
      for (const p of posters) {
        assert.equal(valueOf(m, 'usage_total', p.labels), p.acked, `${JSON.stringify(p.labels)}: counted = acknowledged`);
      }
      assert.equal(valueOf(m, 'usage_total', { browser: 'edge', feature: 'showContent' }), 5);
      t.diagnostic(`killed ${killed.length} workers; acknowledged ${ackedAt()} batches; statuses ${JSON.stringify(statusTally(posters))}`);
    });

    it('stops: no web server or worker of this test is left', { timeout: 20000 }, async () => {
      noteDescendants(ctx.srv);
      const forced = await stopServer(ctx.srv);
      assert.deepEqual(forced, [], 'processes of the server that outlived it (killed now)');
      await ctx.stack.stopAll();
      assert.deepEqual(processesMatching(ctx.stack.dir), [], `processes still running with ${ctx.stack.dir}`);
    });
  });
}

respawnSuite('lighttpd: pum-fastcgi-spawn.conf ("bin-path") respawns a dead pum-ingest', {
  skip: !have('lighttpd') && 'lighttpd is not installed',
  setup: lighttpdSetup,
  kills: 10,
  gapMs: 150,
  // lighttpd keeps max-procs workers running
  expectWorkers: () => Number(/"max-procs" => (\d+)/.exec(fs.readFileSync(path.join(DEPLOY, 'lighttpd/pum-fastcgi-spawn.conf'), 'utf8'))[1]),
});

respawnSuite('Apache: pum-fcgid.conf (mod_fcgid) respawns a dead pum-ingest', {
  skip: (!have('apache2') && 'apache2 is not installed') || (!fs.existsSync(FCGID) && `${FCGID} is missing (libapache2-mod-fcgid)`)
    || (IS_ROOT && !wwwData() && 'no www-data user for Apache to run as'),
  setup: apacheSetup,
  kills: 6,
  gapMs: 300,
});
