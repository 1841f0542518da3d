-- wrk script of tests/bench/bench.mjs: POSTs one batch per request.
--
-- Environment (read once per wrk thread):
--   PUM_BENCH_BODY  file with the body: for mode "fixed" the whole body,
--                   for mode "unique" the events array only
--   PUM_BENCH_MODE  "fixed" (default): the same body every time (wrk sends
--                   a pre-built request: cheapest for wrk);
--                   "unique": pum's {"client", "seq", "events"} shape with
--                   a fresh (client, seq) every request, so none is a
--                   duplicate: request n of thread t is client
--                   "<run>-<t>-<n mod 1024>", seq floor(n / 1024), so one
--                   client's batches come in order and far apart, as from
--                   1024 pages
--   PUM_BENCH_RUN   a prefix for the client ids (unique per run)
-- done() prints one line "PUM_BENCH_RESULT {json}" with wrk's counts and
-- latency percentiles (microseconds), for bench.mjs to parse.

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local mode = os.getenv("PUM_BENCH_MODE") or "fixed"
local body = slurp(assert(os.getenv("PUM_BENCH_BODY"), "PUM_BENCH_BODY is not set"))
local run = os.getenv("PUM_BENCH_RUN") or "bench"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

if mode == "unique" then
  local n = 0
  local prefix
  request = function()
    if not prefix then prefix = '{"client":"' .. run .. '-' .. tostring(tid or 1) .. '-' end
    local k = n % 1024
    local seq = (n - k) / 1024
    n = n + 1
    return wrk.format(nil, nil, nil,
      prefix .. k .. '","seq":' .. string.format("%d", seq) .. ',"events":' .. body .. '}')
  end
else
  wrk.body = body
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'PUM_BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
