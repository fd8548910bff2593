-- wrk script of bench/scale: exactly $SCALE_N requests of one kind, split
-- between the threads, each thread stopping once all of its answers are in
-- (wrk 4.1: response() and wrk.thread:stop(); wrk itself runs until it is
-- sent SIGINT, which run.sh does once every thread has written its
-- "<out>.<tid>.done"). Requests beyond a thread's share, sent while its last
-- answers come back, are GET /healthz. A thread that gets an unexpected
-- status writes "<out>.<tid>.failed" and stops. SCALE_MODE:
--   issue: POST /v1/admin/licenses (Bearer $SCALE_ADMIN_KEY); each 201's
--          license_key is written to "$SCALE_OUT.<tid>", one a line;
--   buy:   POST /v1/purchase of product "scale" (demo mode's simulated
--          provider), each from another client address; each checkout's
--          demo invoice id is written to "$SCALE_OUT.<tid>";
--   pay:   POST /demo/checkout/<id>/pay for the ids in $SCALE_IN (this
--          thread's share of its lines): the demo provider says "paid" and
--          the invoice goes through fulfillment; answered 303 once committed.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = os.getenv("SCALE_MODE")
  local n = tonumber(os.getenv("SCALE_N"))
  local nthreads = tonumber(os.getenv("SCALE_THREADS"))
  first = tid * math.floor(n / nthreads) + math.min(tid, n % nthreads)
  share = math.floor(n / nthreads) + ((tid < n % nthreads) and 1 or 0)
  sent, got = 0, 0
  -- wrk calls thread 0's request() once more, before the run, to check the
  -- script (script_verify_request in wrk.c): that one is not sent.
  verifying = tid == 0
  prefix = os.getenv("SCALE_OUT") .. "." .. tid
  out = io.open(prefix, "w")
  idle = wrk.format("GET", "/healthz")
  if mode == "issue" then
    expected = 201
    local headers = { ["Authorization"] = "Bearer " .. os.getenv("SCALE_ADMIN_KEY"), ["Content-Type"] = "application/json" }
    fixed = wrk.format("POST", "/v1/admin/licenses", headers, '{"product_slug":"scale"}')
  elseif mode == "buy" then
    expected = 200
  else
    expected = 303
    ids = {}
    local i = 0
    for line in io.lines(os.getenv("SCALE_IN")) do
      if i >= first and i < first + share then ids[#ids + 1] = line end
      i = i + 1
    end
  end
  if share == 0 then finish() end
end

function finish()
  out:close()
  io.open(prefix .. ".done", "w"):close()
  wrk.thread:stop()
end

function request()
  if verifying then
    verifying = false
    return idle
  end
  if sent >= share then return idle end
  sent = sent + 1
  if mode == "issue" then return fixed end
  if mode == "pay" then return wrk.format("POST", "/demo/checkout/" .. ids[sent] .. "/pay") end
  local c = tid * 16777216 + sent
  local ip = string.format("10.%d.%d.%d", math.floor(c / 65536) % 256, math.floor(c / 256) % 256, c % 256)
  return wrk.format("POST", "/v1/purchase", { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip },
    '{"product":"scale","policy_slug":"default"}')
end

function response(status, headers, body)
  if status == expected then
    local found = nil
    if mode == "issue" then
      found = body:match('"license_key":"([^"]+)"')
    elseif mode == "buy" then
      found = body:match('/demo/checkout/([%w_]+)')
      if not found then return end -- a /healthz answer
    end
    if found then out:write(found, "\n") end
    got = got + 1
    if got == share then finish() end
  elseif status ~= 200 then
    local f = io.open(prefix .. ".failed", "w")
    f:write(mode, ": HTTP ", status, " ", body or "", "\n")
    f:close()
    wrk.thread:stop()
  end
end
