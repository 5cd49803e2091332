-- wrk script: paced ("open-loop") background load for bench/processing.
-- BENCH_TEMPLATE: an NDJSON body whose timestamps are the placeholder __TS__ (replaced by the
-- send time of each request); BENCH_REQ_RATE: requests per second for the whole wrk thread.
-- delay() hands every request a slot of an absolute schedule (slot k at start + k / rate), so
-- the rate does not depend on the response time as long as a connection is free; a slot found
-- more than 5 ms in the past is counted as late, and when the schedule is more than 1 s behind
-- (all connections busy) the missed slots are dropped and counted. Run it with -t1.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk, bench_timespec *ts);
]]
local tsbuf = ffi.new("bench_timespec")
local function now_ms(clk)
  ffi.C.clock_gettime(clk, tsbuf)
  return tonumber(tsbuf.tv_sec) * 1000 + tonumber(tsbuf.tv_nsec) / 1e6
end

local f = assert(io.open(os.getenv("BENCH_TEMPLATE"), "rb"))
local tmpl = f:read("*a")
f:close()
local parts, pos = {}, 1
while true do
  local a, b = string.find(tmpl, "__TS__", pos, true)
  if not a then break end
  table.insert(parts, string.sub(tmpl, pos, a - 1))
  pos = b + 1
end
table.insert(parts, string.sub(tmpl, pos))
local interval = 1000 / tonumber(os.getenv("BENCH_REQ_RATE"))
local headers = { ["Content-Type"] = "application/x-ndjson" }
local next_due = nil

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0; last_other = 0; late = 0; dropped = 0; sent = 0 end

function delay()
  local now = now_ms(1)
  if next_due == nil then next_due = now end
  local due = next_due
  if now - due > 1000 then
    local skip = math.floor((now - due) / interval)
    dropped = dropped + skip
    due = due + skip * interval
  end
  next_due = due + interval
  local d = due - now
  if d < -5 then late = late + 1 end
  if d < 0 then d = 0 end
  return d
end

function request()
  local ms = now_ms(0)
  local sec = math.floor(ms / 1000)
  local ts = os.date("!%Y-%m-%dT%H:%M:%S", sec) .. string.format(".%03dZ", math.floor(ms % 1000))
  sent = sent + 1
  return wrk.format("POST", "/logs", headers, table.concat(parts, ts))
end

function response(status, hdrs, body)
  if status == 202 then ok = ok + 1 else other = other + 1; last_other = status end
end

function done(summary, latency, requests)
  local o, x, s, l, d, n = 0, 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); x = x + t:get("other"); l = l + t:get("late")
    d = d + t:get("dropped"); n = n + t:get("sent")
    if t:get("last_other") ~= 0 then s = t:get("last_other") end
  end
  io.write(string.format(
    "RESULT ok=%d other=%d other_status=%d late=%d dropped=%d sent=%d duration_us=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%d err_connect=%d err_read=%d " ..
    "err_write=%d err_timeout=%d\n",
    o, x, s, l, d, n, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
