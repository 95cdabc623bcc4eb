--[[ lua/include/idempotency.lua — the idempotency wrapper (every library with write functions).
  Every write function takes two leading ARGV and an optional trailing KEY:
  ARGV[1] request fingerprint ('' = no idempotency key; else 1 to 64 of [A-Za-z0-9_-])
  ARGV[2] record TTL in seconds ('0' without a fingerprint, else 1 to 10^12)
  KEYS[last] the record (only with a fingerprint; same hash tag as the operation's keys, none of them)
  A record with this fingerprint: its outcome is replayed and nothing else runs; with another fingerprint:
  IDEMPOTENCY_KEY_MISMATCH. Otherwise the operation runs and its outcome — success or business failure — is
  stored in the same atomic step:  <fingerprint>|o|<reply values joined by ','>  or  <fingerprint>|e|<error>
  (libs/redis-atomic/src/idempotency.ts reads and writes the same). A record key holding another type is
  refused (STORE_CORRUPTED): the wrapper never overwrites a key that is not a record.
  Reply of every write function: { replayed (0 or 1), <the operation's reply…> }; a replayed error carries
  "replayed":1 in its details. The header of each function lists its KEYS and ARGV after these. ]]
local MAX_TTL = 1000000000000

local function replay(record, fingerprint)
  local stored, kind, payload = string.match(record, '^([^|]*)|(%a)|(.*)$')
  if stored ~= fingerprint then
    return fail('IDEMPOTENCY_KEY_MISMATCH', { message = 'this Idempotency-Key was used with a different request' })
  end
  if kind == 'e' then return redis.error_reply((string.gsub(payload, ' {', ' {"replayed":1,', 1))) end
  local reply = { 1 }
  for value in string.gmatch(payload, '[^,]+') do reply[#reply + 1] = value end
  return reply
end

local function outcome(reply)
  if reply.err then return 'e|' .. reply.err end
  local values = {}
  for i, value in ipairs(reply) do values[i] = type(value) == 'number' and int_text(value) or value end
  return 'o|' .. table.concat(values, ',')
end

-- `check(keys, args)` validates the operation's own KEYS and ARGV (raising INVALID_ARGUMENT) before anything is
-- read; its return values are passed on to `operation(keys, args, …)`.
local function idempotent(operation, check)
  return function(keys, args)
    local fingerprint, ttl = args[1], args[2]
    table.remove(args, 1) -- the operation's own ARGV from 1 (in place: cheaper than a copy)
    table.remove(args, 1)
    if fingerprint == '' or fingerprint == nil then
      if ttl ~= '0' then invalid('ARGV[2] (record TTL)', "'0' without a fingerprint") end
      local reply = operation(keys, args, check(keys, args))
      if reply.err then return reply end
      table.insert(reply, 1, 0)
      return reply
    end
    if #fingerprint > 64 or string.find(fingerprint, '[^A-Za-z0-9_-]') then
      invalid('ARGV[1] (fingerprint)', "'' or 1 to 64 characters [A-Za-z0-9_-]")
    end
    int_arg(ttl, 'ARGV[2] (record TTL)', 1, MAX_TTL)
    if #keys < 2 then invalid('KEYS', 'the operation keys and the record key') end
    local record_key = table.remove(keys) -- the operation's own KEYS: all but the last
    for i = 1, #keys do
      if keys[i] == record_key then invalid('KEYS', 'a record key that is none of the operation keys') end
    end
    local parsed = { check(keys, args) } -- checks return no nil (false for an absent optional value)
    if string.match(record_key, '{.-}') ~= tag_of(keys[1]) then invalid('KEYS', 'a record key of the same hash tag') end
    local record = redis.pcall('GET', record_key)
    if type(record) == 'table' and record.err then corrupted(record_key, 'idempotency record is not a string') end
    if record then return replay(record, fingerprint) end
    local reply = operation(keys, args, unpack(parsed)) -- a raised error wrote nothing and is not stored
    redis.call('SET', record_key, fingerprint .. '|' .. outcome(reply), 'EX', ttl)
    if reply.err then return reply end
    table.insert(reply, 1, 0)
    return reply
  end
end
