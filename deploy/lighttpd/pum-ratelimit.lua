-- pum: per-address rate limit for /record with 429 Too Many Requests, for
-- lighttpd's mod_magnet (Debian package lighttpd-modules-lua). Enabled by
-- pum-ratelimit.conf; see there for how to install it.
--
-- A token bucket per client address, like nginx's limit_req: an address
-- may send BURST requests at once, and then RATE a second; a request that
-- finds the bucket empty gets 429 with Retry-After and never reaches a
-- worker. The defaults (10 a second, bursts of 100) let one address keep
-- about 100 open pages sending every 10 s (pum.js's default interval) —
-- people behind one NAT share an address, so do not set them much lower.
-- pum.js keeps a batch that got 429 and retries it with backoff, so a
-- short excess costs delay, not data.
--
-- Limits, honestly:
--  * The buckets live in this script's Lua state inside the lighttpd
--    process: they are per process (with server.max-worker > 1 each
--    worker process counts on its own, so the effective limit is
--    multiplied) and start empty when lighttpd restarts or this file
--    changes (mod_magnet reloads a changed script).
--  * At most MAX_ADDRESSES addresses are tracked; past that, full
--    (idle) buckets are dropped first, and if every bucket is in use the
--    table is cleared (the limit fails open rather than refusing
--    everyone).
--  * Behind a proxy every request has the proxy's address: use
--    mod_extforward so that the remote address is the browser's.
--  * The 429 carries no CORS headers; a page on another origin sees a
--    network error, which pum.js retries the same way.

local RATE = 10              -- requests a second per address, refilled
local BURST = 100            -- the bucket: requests allowed at once
local MAX_ADDRESSES = 100000 -- addresses tracked at most

-- mod_magnet runs the script in a fresh global environment for every
-- request, but package.loaded lives as long as the script's Lua state:
-- keep the buckets there.
local state = package.loaded["pum.ratelimit"]
if type(state) ~= "table" then
  state = { buckets = {}, count = 0 }
  package.loaded["pum.ratelimit"] = state
end

local r = lighty.r
local addr = r.req_attr["request.remote-addr"] or ""
local now = lighty.c.time()
local buckets = state.buckets
local b = buckets[addr]

if b == nil then
  if state.count >= MAX_ADDRESSES then
    -- Drop the buckets that have refilled completely (idle addresses).
    local full_after = BURST / RATE
    local kept = 0
    for a, x in pairs(buckets) do
      if now - x.t >= full_after then
        buckets[a] = nil
      else
        kept = kept + 1
      end
    end
    if kept >= MAX_ADDRESSES then
      buckets = {}
      state.buckets = buckets
      kept = 0
    end
    state.count = kept
  end
  b = { tokens = BURST, t = now }
  buckets[addr] = b
  state.count = state.count + 1
else
  local tokens = b.tokens + (now - b.t) * RATE
  if tokens > BURST then tokens = BURST end
  b.tokens = tokens
  b.t = now
end

if b.tokens < 1 then
  r.resp_header["Retry-After"] = tostring(math.ceil((1 - b.tokens) / RATE))
  return 429
end
b.tokens = b.tokens - 1
return 0
