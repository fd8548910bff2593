-- wrk script: POST /v1/validate with one valid key and fingerprint, each
-- request from a different client address (X-Forwarded-For through a
-- trusted proxy), so the per-address rate limiter sees many addresses.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  body = os.getenv("BENCH_BODY")
  counter = tid * 16777216
end

function request()
  counter = counter + 1
  local n = counter % 4194304
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", "/v1/validate", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end
