// Reads the log lines of pum-ingest and pum-exporter (schema/base/log.h):
// logfmt, `ts=... level=info msg="..." key=value`, as Prometheus writes it.
//
// parseLogfmt(line) -> { ts, level, msg, ...fields } (values are strings),
//   or null if the line is not logfmt;
// logRecords(text) -> the parsed records of every logfmt line in text.

const ESCAPES = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t' };

export function parseLogfmt(line) {
  const record = {};
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    const eq = line.indexOf('=', i);
    if (eq <= i) return null;
    const key = line.slice(i, eq);
    if (!/^[a-z0-9_.]+$/.test(key)) return null;
    i = eq + 1;
    let value = '';
    if (line[i] === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] !== '\\') {
          value += line[i];
        } else if (line[i + 1] === 'u') {
          value += String.fromCharCode(parseInt(line.slice(i + 2, i + 6), 16));
          i += 5;
        } else if (ESCAPES[line[i + 1]] !== undefined) {
          value += ESCAPES[line[++i]];
        } else {
          return null;
        }
      }
      if (line[i] !== '"') return null;
      i++;
    } else {
      const end = line.indexOf(' ', i);
      value = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    record[key] = value;
  }
  return 'ts' in record && 'level' in record && 'msg' in record ? record : null;
}

export function logRecords(text) {
  return text.split('\n').map(parseLogfmt).filter((r) => r !== null);
}

// The text of the log lines as a person reads them: each record's msg and
// its fields' values, unescaped, one record per line.
export function logText(text) {
  return logRecords(text)
    .map(({ ts, level, ...rest }) => Object.entries(rest).map(([k, v]) => (k === 'msg' ? v : `${k}=${v}`)).join(' '))
    .join('\n');
}
