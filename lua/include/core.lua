--[[ lua/include/core.lua — errors and integers (every library).
  Failures are `redis.error_reply('<CODE> <json details>')` (decoded in libs/redis-atomic/src/errors.ts); raised
  errors (`error({ err = … })`) abort from any depth and are never recorded by the idempotency wrapper. ]]
local MAX_SAFE = 9007199254740991

-- `{json}` details. Numbers are written with %d: cjson keeps only 14 significant digits, balances need 16.
local function encode(details)
  local parts = {}
  for key, value in pairs(details) do
    local encoded = type(value) == 'number' and string.format('%d', value) or cjson.encode(value)
    parts[#parts + 1] = cjson.encode(key) .. ':' .. encoded
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function fail(code, details)
  return redis.error_reply(code .. ' ' .. encode(details))
end

-- Stored data our writes could not apply to: raised, always before the first write.
local function corrupted(key, what)
  error({ err = 'STORE_CORRUPTED ' .. encode({ message = what, key = key }) })
end

-- No outcome (a retry signal to the caller): raised, so no idempotency record keeps it. Before any write.
local function signal(code, details)
  error({ err = code .. ' ' .. encode(details) })
end

-- An integer exactly as HINCRBY reads one ('0' or -?[1-9][0-9]*) and within ±MAX_SAFE; nil otherwise.
-- tonumber alone would accept '1e3', '007', ' 5' or '0x10', which HINCRBY refuses after earlier writes.
local function safe_integer(text)
  if type(text) ~= 'string' or #text > 17 or not (text == '0' or string.match(text, '^%-?[1-9]%d*$')) then return nil end
  local n = tonumber(text)
  if n > MAX_SAFE or n < -MAX_SAFE then return nil end
  return n
end

-- %d text of an integer (never '-0', never an exponent).
local function int_text(n)
  return string.format('%d', n)
end

-- A writer to a key of another type would fail after earlier writes: one TYPE per written key, before the first.
local function check_type(key, expected, what)
  local kind = redis.call('TYPE', key).ok
  if kind ~= expected and kind ~= 'none' then corrupted(key, what or ('key is not a ' .. expected)) end
end

-- The event log (STREAM): one entry { type, data = JSON } per committed write, its key checked before the first
-- write (check_type(key, 'stream', 'event log is not a stream')). Event data is built by concatenation: ids are
-- allowlisted (args.lua), so they need no JSON escaping, and integers are written as canonical text.
local function append_event(key, maxlen, event_type, data)
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'type', event_type, 'data', data)
end
