-- wrk script of bench/scale: POST /v1/validate with keys from $SCALE_KEYS,
-- each request from another client address (X-Forwarded-For through a
-- trusted proxy). Key i's machine sends line i of $SCALE_FPS as its
-- fingerprint: the lower-case hex SHA-256 of a machine identity, as the
-- client libraries send one (docs/PROTOCOL.md §3), so the seats' fingerprint
-- index is written at random places, as a real deployment's is. SCALE_MODE:
--   walk: each thread walks its share of a fixed permutation of the keys from
--         $SCALE_START on (first sight of every key + machine: a seat is taken);
--         past the last key it starts again with new machines when SCALE_WRAP
--         is set (the policy has unlimited seats), else sends GET /healthz;
--         with SCALE_PREBUILD set (the measured walk), each thread's next
--         SCALE_PREBUILD requests are built in init(), as warm mode's are,
--         so that the client's cost per request is not what is measured;
--   warm: a random key with its own machine (seated by the walk), each
--         machine from its own fixed address (as a deployed app calls);
--         the requests are built once in init(), so the client spends
--         per request what it spends on /healthz (a table lookup);
--   bare: a random key without a fingerprint.
-- done() prints "walked <n>": the walk positions every thread got past, and
-- "positions <p0>,<p1>,…": where each thread got to.
--
-- wrk runs each thread's init() in turn, starting a thread as soon as its own
-- init() is done, and starts its clock after the last: a thread would send
-- requests, counted but not timed, while the next builds its own. So no
-- thread sends before every init() is done (a file per thread marks it,
-- named after the run: setup() gives each thread's state the main state's).
local threads = {}
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
local this_run = string.format("%s/keysat-scale-%d-%d", os.getenv("TMPDIR") or "/tmp", os.time(), math.random(1e9))

function setup(thread)
  thread:set("tid", #threads)
  thread:set("run", this_run)
  table.insert(threads, thread)
end

local function mark(path)
  local f = assert(io.open(path, "w"))
  f:close()
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- Waits (in the thread's first request) until every thread's init() is done.
local function barrier()
  for t = 0, nthreads - 1 do
    while not exists(run .. "." .. t) do os.execute("sleep 0.005") end
  end
  waited = true
end

function init(args)
  keys = {}
  for line in io.lines(os.getenv("SCALE_KEYS")) do keys[#keys + 1] = line end
  n = #keys
  mode = os.getenv("SCALE_MODE")
  fps = {}
  if mode ~= "bare" then
    for line in io.lines(os.getenv("SCALE_FPS")) do fps[#fps + 1] = line end
    assert(#fps >= n, "SCALE_FPS has fewer lines than SCALE_KEYS")
  end
  nthreads = tonumber(os.getenv("SCALE_THREADS"))
  -- SCALE_START: one position for every thread, or one per thread ("p0,p1,…",
  -- as done() prints them) to go on where each thread of a run got to.
  local starts = {}
  for p in string.gmatch(os.getenv("SCALE_START") or "0", "[^,]+") do starts[#starts + 1] = tonumber(p) end
  pos = starts[tid + 1] or starts[1]
  wrap = os.getenv("SCALE_WRAP") ~= nil
  counter = tid * 16777216
  prebuilt = 0
  -- wrk calls thread 0's request() once more, before the run, to check the
  -- script (script_verify_request in wrk.c): that one is not sent, so it
  -- must not use up a walk position (the walk's first key went unseated).
  verifying = tid == 0
  math.randomseed(os.time() + tid * 7919)
  if mode == "walk" and os.getenv("SCALE_PREBUILD") then
    walk_built = {}
    for k = 1, tonumber(os.getenv("SCALE_PREBUILD")) do
      local w = (pos + k - 1) * nthreads + tid
      if w >= n and not wrap then break end
      walk_built[k] = walk_request(w)
    end
  end
  if mode == "warm" then
    built = {}
    for i = 1, n do
      local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
      local body = string.format('{"key":"%s","fingerprint":"%s","product_slug":"scale"}', keys[i], fps[i])
      built[i] = wrk.format("POST", "/v1/validate", {
        ["Content-Type"] = "application/json",
        ["X-Forwarded-For"] = ip,
      }, body)
    end
  end
  mark(run .. "." .. tid)
end

-- A fixed permutation of 1..n (the step is prime, so coprime with n unless n is its multiple).
local function perm(w)
  return (w * 1000003) % n + 1
end

-- Walk position w: its key, and a machine of its own (a new one on each pass
-- past the last key), from an address of its own.
function walk_request(w)
  local c = w % 4194304
  local ip = string.format("10.%d.%d.%d", math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256)
  local i = perm(w % n)
  local machine = ""
  if w >= n then machine = "-" .. math.floor(w / n) end
  local body = string.format('{"key":"%s","fingerprint":"%s%s","product_slug":"scale"}', keys[i], fps[i], machine)
  return wrk.format("POST", "/v1/validate", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end

function request()
  if verifying then
    verifying = false
    return wrk.format("GET", "/healthz")
  end
  if not waited then barrier() end
  if built then
    return built[math.random(n)]
  end
  if mode == "walk" then
    local w = pos * nthreads + tid
    if w >= n and not wrap then
      return wrk.format("GET", "/healthz")
    end
    pos = pos + 1
    prebuilt = prebuilt + 1
    return (walk_built and walk_built[prebuilt]) or walk_request(w)
  end
  counter = counter + 1
  local c = counter % 4194304
  local ip = string.format("10.%d.%d.%d", math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256)
  local i = math.random(n)
  local body = string.format('{"key":"%s","product_slug":"scale"}', keys[i])
  return wrk.format("POST", "/v1/validate", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end

function done(summary, latency, requests)
  for t = 0, #threads - 1 do os.remove(this_run .. "." .. t) end
  local least = nil
  for _, t in ipairs(threads) do
    local p = t:get("pos")
    if p and (least == nil or p < least) then least = p end
  end
  io.write(string.format("walked %d\n", least or 0))
  local each = {}
  for _, t in ipairs(threads) do each[#each + 1] = tostring(t:get("pos") or 0) end
  io.write("positions " .. table.concat(each, ",") .. "\n")
end
