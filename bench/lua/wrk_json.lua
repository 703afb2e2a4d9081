-- wrk script shared by every HTTP scenario of the bench.
--
--   WRK_OUT        where done() writes the run as JSON (requests, errors, latency percentiles in µs)
--   WRK_METHOD     request method (GET)
--   WRK_BODY_FILE  request body, sent with Content-Type: application/json
--   WRK_RATE       open loop: the whole run's request rate (req/s). Every request has a slot on a
--                  fixed schedule (start + k / rate); a connection waits for its slot, so the
--                  arrival rate does not depend on response times as long as a connection is free.
--                  done() reports two lags: maxlag_ms, how late a connection became free for its
--                  slot (the server is behind: every connection busy), and sendlag_ms, how far the
--                  requests actually written fell behind the schedule (either side behind, the load
--                  generator's own CPU included).
-- Use one wrk thread (-t1): the schedule and the lag counters live in the thread.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local method = os.getenv("WRK_METHOD")
if method and method ~= "" then wrk.method = method end
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

maxlag_ms = 0 -- globals: read from done() through thread:get()
late_sends = 0
sendlag_ms = 0
local rate = tonumber(os.getenv("WRK_RATE") or "") or 0
if rate > 0 then
  local interval = 1000 / rate
  local start, slot = nil, 0
  function delay()
    local now = now_ms()
    start = start or now
    local wait = start + slot * interval - now
    slot = slot + 1
    if wait >= 0 then return math.floor(wait) end
    if -wait > maxlag_ms then maxlag_ms = -wait end
    if -wait > 1 then late_sends = late_sends + 1 end
    return 0
  end
  local sent = 0
  function request()
    local now = now_ms()
    if start then
      local behind = (now - start) - sent * interval
      if behind > sendlag_ms then sendlag_ms = behind end
    end
    sent = sent + 1
    return wrk.format()
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

local points = {}
for p = 1, 99 do points[#points + 1] = p end
for p = 991, 999 do points[#points + 1] = p / 10 end
for p = 9991, 9999 do points[#points + 1] = p / 100 end
points[#points + 1] = 100

function done(summary, latency, requests)
  local maxlag, late, sendlag = 0, 0, 0
  for _, t in ipairs(threads) do
    maxlag = math.max(maxlag, t:get("maxlag_ms") or 0)
    late = late + (t:get("late_sends") or 0)
    sendlag = math.max(sendlag, t:get("sendlag_ms") or 0)
  end
  local e = summary.errors
  local pct = {}
  for _, p in ipairs(points) do pct[#pct + 1] = string.format("[%g,%d]", p, latency:percentile(p)) end
  local out = assert(io.open(assert(os.getenv("WRK_OUT"), "WRK_OUT is not set"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"max":%d,"mean":%.3f,"stdev":%.3f},"percentiles_us":[%s],' ..
    '"rate_target":%g,"maxlag_ms":%.3f,"late_sends":%d,"sendlag_ms":%.3f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(pct, ","),
    rate, maxlag, late, sendlag))
  out:close()
end
