-- wrk script of bench/scale: POST /v1/validate with keys from $SCALE_KEYS,
-- each request from another client address (X-Forwarded-For through a
-- trusted proxy). SCALE_MODE:
--   walk: each thread walks its share of a fixed permutation of the keys from
--         $SCALE_START on (first sight of every key + machine: a seat is taken);
--         past the last key it starts again with new machines when SCALE_WRAP
--         is set (the policy has unlimited seats), else sends GET /healthz;
--   warm: a random key with its own machine (seated by the walk), each
--         machine from its own fixed address (as a deployed app calls);
--         the requests are built once in init(), so the client spends
--         per request what it spends on /healthz (a table lookup);
--   bare: a random key without a fingerprint.
-- done() prints "walked <n>": the walk positions every thread got past.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  keys = {}
  for line in io.lines(os.getenv("SCALE_KEYS")) do keys[#keys + 1] = line end
  n = #keys
  mode = os.getenv("SCALE_MODE")
  nthreads = tonumber(os.getenv("SCALE_THREADS"))
  pos = tonumber(os.getenv("SCALE_START") or "0")
  wrap = os.getenv("SCALE_WRAP") ~= nil
  counter = tid * 16777216
  -- wrk calls thread 0's request() once more, before the run, to check the
  -- script (script_verify_request in wrk.c): that one is not sent, so it
  -- must not use up a walk position (the walk's first key went unseated).
  verifying = tid == 0
  math.randomseed(os.time() + tid * 7919)
  if mode == "warm" then
    built = {}
    for i = 1, n do
      local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
      local body = string.format('{"key":"%s","fingerprint":"scale-machine-%d","product_slug":"scale"}', keys[i], i)
      built[i] = wrk.format("POST", "/v1/validate", {
        ["Content-Type"] = "application/json",
        ["X-Forwarded-For"] = ip,
      }, body)
    end
  end
end

-- A fixed permutation of 1..n (the step is prime, so coprime with n unless n is its multiple).
local function perm(w)
  return (w * 1000003) % n + 1
end

function request()
  if verifying then
    verifying = false
    return wrk.format("GET", "/healthz")
  end
  if built then
    return built[math.random(n)]
  end
  counter = counter + 1
  local c = counter % 4194304
  local ip = string.format("10.%d.%d.%d", math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256)
  local i
  local machine = ""
  if mode == "walk" then
    local w = pos * nthreads + tid
    if w >= n and not wrap then
      return wrk.format("GET", "/healthz")
    end
    pos = pos + 1
    i = perm(w % n)
    if w >= n then machine = "-" .. math.floor(w / n) end
  else
    i = math.random(n)
  end
  local body
  if mode == "bare" then
    body = string.format('{"key":"%s","product_slug":"scale"}', keys[i])
  else
    body = string.format('{"key":"%s","fingerprint":"scale-machine-%d%s","product_slug":"scale"}', keys[i], i, machine)
  end
  return wrk.format("POST", "/v1/validate", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end

function done(summary, latency, requests)
  local least = nil
  for _, t in ipairs(threads) do
    local p = t:get("pos")
    if p and (least == nil or p < least) then least = p end
  end
  io.write(string.format("walked %d\n", least or 0))
end
