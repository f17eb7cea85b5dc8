-- wrk script: POST /login with valid pre-sessions and a WRONG password.
--
--   LOGIN_PAIRS=FILE LOGIN_EMAILS=a@x,b@x LOGIN_PASSWORD=... \
--     wrk -s bench/login.lua http://127.0.0.1:PORT/login
--
-- FILE holds one pre-session per line, "COOKIE_NAME=VALUE CSRF_TOKEN", as
-- bench/run.sh captured them with curl from GET /login. Every request
-- takes the next pair and the next email (round robin, each thread
-- starting at a different offset) and sends the form with
-- Sec-Fetch-Site: same-origin. A wrong password leaves the pre-session
-- valid (a success would replace it), so the pairs can be reused; each
-- such request costs one full Argon2id verification and answers 400.
-- Spreading the failures over several accounts keeps each below
-- login_delay_free / login_lock_after (run.sh sizes the list).
--
-- done() prints one line per status, "status CODE COUNT", summed over
-- the threads: run.sh counts the 400s (verifications) and the 503s (pool
-- full or queue timeout) from it.

local pairs_file = os.getenv("LOGIN_PAIRS")
local emails_env = os.getenv("LOGIN_EMAILS") or ""
local password = os.getenv("LOGIN_PASSWORD") or "wrong-password-for-bench-0"

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local creds = {}
local emails = {}
local n = 0

local threads = {}
local thread_no = 0

function setup(thread)
  thread_no = thread_no + 1
  thread:set("offset", thread_no * 7)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(pairs_file, "r"), "LOGIN_PAIRS: cannot open")
  for line in f:lines() do
    local cookie, token = line:match("^(%S+)%s+(%S+)$")
    if cookie then
      table.insert(creds, { cookie = cookie, token = urlencode(token) })
    end
  end
  f:close()
  for e in emails_env:gmatch("[^,%s]+") do
    table.insert(emails, urlencode(e))
  end
  assert(#creds > 0, "no pre-sessions in LOGIN_PAIRS")
  assert(#emails > 0, "LOGIN_EMAILS is empty")
  n = offset or 0
  password = urlencode(password)
end

function request()
  n = n + 1
  local c = creds[n % #creds + 1]
  local e = emails[n % #emails + 1]
  local body = "csrf=" .. c.token .. "&email=" .. e .. "&password=" .. password
  return wrk.format("POST", nil, {
    ["Cookie"] = c.cookie,
    ["Sec-Fetch-Site"] = "same-origin",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

-- Per-thread counters in plain globals ("c400"...), which thread:get()
-- can read from done(); anything else goes to "cother".
local known = { [200] = true, [303] = true, [400] = true, [403] = true,
  [429] = true, [500] = true, [503] = true }

function response(status, headers, body)
  if known[status] then
    local k = "c" .. status
    _G[k] = (_G[k] or 0) + 1
  else
    cother = (cother or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code in pairs(known) do
      local v = t:get("c" .. code)
      if v then total[code] = (total[code] or 0) + v end
    end
    local other = t:get("cother")
    if other then total[0] = (total[0] or 0) + other end
  end
  for code, v in pairs(total) do
    io.write(string.format("status %d %d\n", code, v))
  end
end
