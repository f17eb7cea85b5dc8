-- wrk script for the OAuth runs: POST with client_secret_basic.
--
--   OAUTH_MODE=post OAUTH_AUTH='Basic ...' OAUTH_BODY='grant_type=...' \
--   OAUTH_EXPECT='"access_token"' wrk -s bench/oauth.lua http://HOST/token
--
--   OAUTH_MODE=post OAUTH_AUTH= OAUTH_BODY='grant_type=...token-exchange...' \
--   OAUTH_EXPECT='"access_token"' wrk -s bench/oauth.lua http://HOST/token
--
--   OAUTH_MODE=refresh OAUTH_AUTH='Basic ...' OAUTH_TOKENS=FILE \
--   [OAUTH_OFFSET=K] wrk -t N -c N -s bench/oauth.lua http://HOST/token
--
-- post:    every request is the same form (client_credentials, or an
--          introspection of one valid access token); a response counts
--          as ok when it is a 200 whose body contains OAUTH_EXPECT (an
--          introspection answering {"active":false} is fast and wrong).
-- refresh: refresh-token rotation chains. Thread i (1-based) starts from
--          line K + i of FILE (K = OAUTH_OFFSET, default 0); every 200 carries the next refresh token, which
--          the thread's next request sends. Run with as many connections
--          as threads (-t N -c N): one request in flight per chain, so a
--          chain never presents a token twice (that is reuse, and revokes
--          the family by design). A response without a new token kills
--          the chain (counted as "dead"; its later requests send the old
--          token and count as bad).
--
-- done() prints "ok N", "bad N", "dead N", "sent N" and "status CODE COUNT"
-- lines, summed over the threads; run.sh reads them. "sent" counts the
-- requests written (request() is called once per request wrk writes, on
-- every connection): with the requests still in flight when wrk stops it
-- is the exact number of requests the server was given, which run.sh
-- divides the server's CPU time by (wrk's own "requests" counts only the
-- completed ones).

local mode = os.getenv("OAUTH_MODE") or "post"
local auth = os.getenv("OAUTH_AUTH") or ""
local body = os.getenv("OAUTH_BODY") or ""
local expect = os.getenv("OAUTH_EXPECT") or ""
local tokens_file = os.getenv("OAUTH_TOKENS")
local offset = tonumber(os.getenv("OAUTH_OFFSET") or "0")

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Accept"] = "application/json",
}
-- No OAUTH_AUTH: no Authorization header at all (an API-key exchange,
-- where the key in the body is the credential).
if auth ~= "" then headers["Authorization"] = auth end
local fixed
local current

function init(args)
  ok, bad, dead, sent = 0, 0, 0, 0
  if mode == "refresh" then
    local f = assert(io.open(tokens_file, "r"), "OAUTH_TOKENS: cannot open")
    local i = 0
    for line in f:lines() do
      i = i + 1
      if i == offset + tid then current = line end
    end
    f:close()
    assert(current and #current > 0, "OAUTH_TOKENS: no token for thread " .. (offset + tid))
  else
    fixed = wrk.format("POST", nil, headers, body)
  end
end

function request()
  sent = sent + 1
  if mode == "refresh" then
    return wrk.format("POST", nil, headers,
      "grant_type=refresh_token&refresh_token=" .. urlencode(current))
  end
  return fixed
end

function response(status, hdrs, b)
  local k = "c" .. status
  _G[k] = (_G[k] or 0) + 1
  if mode == "refresh" then
    local t = status == 200 and b:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then
      current = t
      ok = ok + 1
    else
      if status == 200 or dead == 0 then dead = dead + 1 end
      bad = bad + 1
    end
  elseif status == 200 and b:find(expect, 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
  end
end

local codes = { 200, 400, 401, 403, 404, 429, 500, 503 }

function done(summary, latency, requests)
  local t_ok, t_bad, t_dead, t_sent, st = 0, 0, 0, 0, {}
  for _, t in ipairs(threads) do
    t_ok = t_ok + (t:get("ok") or 0)
    t_sent = t_sent + (t:get("sent") or 0)
    t_bad = t_bad + (t:get("bad") or 0)
    t_dead = t_dead + (t:get("dead") or 0)
    for _, c in ipairs(codes) do
      local v = t:get("c" .. c)
      if v then st[c] = (st[c] or 0) + v end
    end
  end
  io.write(string.format("ok %d\nbad %d\ndead %d\nsent %d\n", t_ok, t_bad,
    t_dead, t_sent))
  for c, v in pairs(st) do
    io.write(string.format("status %d %d\n", c, v))
  end
end
