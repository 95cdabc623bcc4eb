#!lua name=inventory
--[[
  Inventory of one shop: every function is one atomic step on the shop's hash slot.

  Stock   ZSET    {<shop>}:inventory:stock      member = product id, score = stock
  Record  STRING  {<shop>}:shop-idem:<digest>   an idempotency record (below), with a TTL; the shop's writes —
                                                Inventory's and Orders' (lua/orders.lua) — share this key space

  Events  STREAM  {<shop>}:events               the shop's event log (with lua/orders.lua): every committed write
                                                appends one entry in the same FCALL, XADD MAXLEN ~; failures and
                                                replays append nothing.
                                                stock.set { productId, stock }  stock.restocked { productId, quantity, stock }

  Scores are doubles: integers are exact below 2^53, so stock stays within [0, 2^53 - 1] and every increase is
  checked against that bound before it is written (ZINCRBY of integers below 2^53 is then exact).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule of every function: all reads and checks run before the first write, because Redis never rolls back.
  lua/orders.lua reads and writes the same sorted set (placing and cancelling orders).
]]

local LIBRARY_VERSION = '3'
local MAX_SAFE = 9007199254740991

-- `CODE {json}`. Numbers are written with %d: cjson keeps only 14 significant digits, stock needs 16.
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

-- Raised (not returned) so that it aborts from any depth; always before the first write.
local function corrupted(key, what)
  error({ err = 'STORE_CORRUPTED ' .. encode({ message = what, key = key }) })
end

-- An integer written the way Redis writes an integral score ('0' or -?[1-9][0-9]*) within ±MAX_SAFE; nil otherwise.
local function safe_integer(text)
  if not text or #text > 17 or not (text == '0' or string.match(text, '^%-?[1-9]%d*$')) then return nil end
  local n = tonumber(text)
  if n > MAX_SAFE or n < -MAX_SAFE then return nil end
  return n
end

-- A writer to a key of another type would fail (after earlier writes, in a longer function): check first.
local function check_type(key, expected)
  local kind = redis.call('TYPE', key).ok
  if kind ~= expected and kind ~= 'none' then corrupted(key, 'key is not a ' .. expected) end
end

-- The shop's event log (STREAM {<shop>}:events, shared by lua/inventory.lua and lua/orders.lua): one entry
-- { type, data = JSON } per committed write, appended last, its key TYPE-checked before the first write.
local function append_event(key, maxlen, event_type, data)
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'type', event_type, 'data', data)
end

-- A product's stock; nil when the product does not exist. A score that is not a stock is refused.
local function read_stock(key, product)
  local score = redis.call('ZSCORE', key, product)
  if score == false then return nil end
  local stock = safe_integer(score)
  if not stock or stock < 0 then corrupted(key, 'stock of ' .. product .. ' is ' .. score .. ', not an integer in [0, 2^53)') end
  return stock
end

--[[ Idempotency (the same wrapper as lua/accounts.lua's and lua/orders.lua's: keep them identical) —
  every write function takes two leading ARGV and an optional trailing KEY:
  ARGV[1] request fingerprint ('' = no idempotency key)   ARGV[2] record TTL in seconds
  KEYS[last] the record (only with a fingerprint; same hash tag as the operation's keys)
  A record with this fingerprint: its outcome is replayed and nothing else runs; with another fingerprint:
  IDEMPOTENCY_KEY_MISMATCH. Otherwise the operation runs and its outcome — success or business failure — is
  stored in the same atomic step:  <fingerprint>|o|<reply values joined by ','>  or  <fingerprint>|e|<error>
  Reply of every write function: { replayed (0 or 1), <the operation's reply…> }; a replayed error carries
  "replayed":1 in its details. The header of each function below lists its ARGV after these two. ]]
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
  for i, value in ipairs(reply) do values[i] = type(value) == 'number' and string.format('%d', value) or value end
  return 'o|' .. table.concat(values, ',')
end

local function idempotent(operation)
  return function(keys, args)
    local fingerprint, own_keys, own_args = args[1], keys, {}
    for i = 3, #args do own_args[i - 2] = args[i] end
    if fingerprint == '' then
      local reply = operation(own_keys, own_args)
      if reply.err then return reply end
      table.insert(reply, 1, 0)
      return reply
    end
    local record_key = keys[#keys]
    local record = redis.call('GET', record_key)
    if record then return replay(record, fingerprint) end
    own_keys = {}
    for i = 1, #keys - 1 do own_keys[i] = keys[i] end
    local reply = operation(own_keys, own_args) -- a raised error (STORE_CORRUPTED) wrote nothing and is not stored
    redis.call('SET', record_key, fingerprint .. '|' .. outcome(reply), 'EX', args[2])
    if reply.err then return reply end
    table.insert(reply, 1, 0)
    return reply
  end
end

--[[ inventory_version  (no-writes)
  Reply: the library version string; the loader compares it with this file. ]]
local function version()
  return LIBRARY_VERSION
end

--[[ inventory_set_stock
  KEYS[1] stock   KEYS[2] events
  ARGV[1] product id   ARGV[2] stock (integer in [0, 2^53))   ARGV[3] events maxlen
  Reply: { stock }   (write functions: see Idempotency above) ]]
local function set_stock(keys, args)
  check_type(keys[1], 'zset')
  check_type(keys[2], 'stream')
  redis.call('ZADD', keys[1], args[2], args[1])
  append_event(keys[2], args[3], 'stock.set', encode({ productId = args[1], stock = tonumber(args[2]) }))
  return { tonumber(args[2]) }
end

--[[ inventory_restock
  KEYS[1] stock   KEYS[2] events
  ARGV[1] product id   ARGV[2] quantity (> 0)   ARGV[3] events maxlen
  Reply: { stock after }  — or PRODUCT_NOT_FOUND / STOCK_LIMIT_EXCEEDED ]]
local function restock(keys, args)
  local product, quantity = args[1], tonumber(args[2])
  local stock = read_stock(keys[1], product)
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = product }) end
  if stock + quantity > MAX_SAFE then
    return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = product,
      stock = stock, quantity = quantity })
  end
  check_type(keys[2], 'stream')
  local after = tonumber(redis.call('ZINCRBY', keys[1], args[2], product))
  append_event(keys[2], args[3], 'stock.restocked', encode({ productId = product, quantity = quantity, stock = after }))
  return { after }
end

--[[ inventory_get  (no-writes)
  KEYS[1] stock
  ARGV[1] product id
  Reply: the stock  — or PRODUCT_NOT_FOUND ]]
local function get(keys, args)
  local stock = read_stock(keys[1], args[1])
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = args[1] }) end
  return stock
end

--[[ inventory_low_stock  (no-writes)
  KEYS[1] stock
  ARGV[1] below (stock strictly under it)   ARGV[2] limit
  Reply: flat { product id, stock, product id, stock, … }, lowest stock first (ties by product id) ]]
local function low_stock(keys, args)
  local rows = redis.call('ZRANGEBYSCORE', keys[1], '-inf', '(' .. args[1], 'WITHSCORES', 'LIMIT', 0, args[2])
  for i = 2, #rows, 2 do
    local stock = safe_integer(rows[i])
    if not stock or stock < 0 then corrupted(keys[1], 'stock of ' .. rows[i - 1] .. ' is ' .. rows[i] .. ', not an integer in [0, 2^53)') end
    rows[i] = stock
  end
  return rows
end

redis.register_function{ function_name = 'inventory_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_low_stock', callback = low_stock, flags = { 'no-writes' } }
redis.register_function('inventory_set_stock', idempotent(set_stock))
redis.register_function('inventory_restock', idempotent(restock))
