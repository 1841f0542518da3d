// The nginx.conf that the tests and the benchmark write for their own
// nginx: in the foreground (daemon off, so the test owns the process), one
// worker, its pid file and temporary folders under the caller's folder, one
// server on 127.0.0.1:PORT. Callers give only what differs: the server's
// locations, extra http {} directives, the logs, worker_connections.
//
// Used by tests/integration/stack.mjs (Stack.nginxConfig), tests/bench/
// bench.mjs and tests/deploy/webservers.test.mjs.

const IS_ROOT = process.getuid && process.getuid() === 0;

// Returns the text of an nginx.conf. Options:
//   writtenBy    the file that wrote it, named on the first line
//   nginxDir     folder of nginx.pid and the *_temp_path folders (the
//                caller creates it; nginx creates the temp folders)
//   port         the server's port on 127.0.0.1
//   errorLog     path of the error log; errorLevel its level (warn)
//   accessLog    path of the access log, or 'off' (the default)
//   workerConnections  (512)
//   http         directives (a string or lines) at the top of http {}
//   server       lines inside server {}, after listen (a string or lines)
export function nginxConfig({
  writtenBy,
  nginxDir,
  port,
  errorLog,
  errorLevel = 'warn',
  accessLog = 'off',
  workerConnections = 512,
  http = [],
  server = [],
}) {
  for (const [name, value] of Object.entries({ writtenBy, nginxDir, port, errorLog })) {
    if (value === undefined || value === '') throw new Error(`nginxConfig: ${name} is required`);
  }
  // Each element (a line or a block of lines) is re-indented as a whole,
  // its own nesting kept.
  const lines = (v, indent) => (Array.isArray(v) ? v : [v]).flatMap((block) => {
    const ls = String(block).split('\n').filter((l) => l.trim() !== '');
    const common = Math.min(...ls.map((l) => /^ */.exec(l)[0].length));
    return ls.map((l) => `${indent}${l.slice(common)}`);
  });
  return [
    `# written by ${writtenBy}`,
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    ...(IS_ROOT ? ['user root;'] : []),
    `pid ${nginxDir}/nginx.pid;`,
    `error_log ${errorLog} ${errorLevel};`,
    `events { worker_connections ${workerConnections}; }`,
    'http {',
    ...lines(http, '  '),
    `  access_log ${accessLog};`,
    ...['client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'].map((t) => `  ${t}_temp_path ${nginxDir}/${t};`),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    ...lines(server, '    '),
    '  }',
    '}',
    '',
  ].join('\n');
}
