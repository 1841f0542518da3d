// The tests' HTTP client for the servers they start on loopback (nginx,
// Apache, lighttpd, pum-exporter with or without TLS): one request on a
// fresh connection (no keep-alive agent, so no connection outlives a test
// or is shared between requests), read to the end, bytes as sent (no gzip
// decoding, no redirects followed), with the time it took.
//
// Used by tests/integration (exporter-door.mjs' users, exporter.test.mjs)
// and tests/deploy (webservers.mjs).
import http from 'node:http';
import https from 'node:https';

// request(url, options) resolves {status, headers, buf, text, body, ms,
// json()} or rejects on a socket or TLS error or after `timeout` ms.
//   headers  the answer's headers, names in lower case (node:http's)
//   buf      the body's bytes; text (and body) the same as UTF-8
//   json()   the body parsed (throws if it is not JSON)
// Options: method ('GET'), headers ({}), body (a string or a Buffer; its
// Content-Length is set), ca (for https: the certificate to trust), auth
// ('user:password', sent as basic auth), timeout (10000 ms).
export function request(url, { method = 'GET', headers = {}, body, ca, auth, timeout = 10000 } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, auth, ca, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        resolve({
          status: res.statusCode,
          headers: res.headers,
          buf,
          text,
          body: text,
          ms: Number(process.hrtime.bigint() - start) / 1e6,
          json: () => JSON.parse(text),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`${method} ${url}: no answer within ${timeout} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
