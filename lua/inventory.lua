#!lua name=inventory
--[[
  Inventory of one shop: every function is one atomic step on the shop's hash slot.

  Stock   ZSET   {<shop>}:inventory:stock   member = product id, score = stock

  Scores are doubles: integers are exact below 2^53, so stock stays within [0, 2^53 - 1] and every increase is
  checked against that bound before it is written (ZINCRBY of integers below 2^53 is then exact).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule of every function: all reads and checks run before the first write, because Redis never rolls back.
  lua/orders.lua reads and writes the same sorted set (placing and cancelling orders).
]]

local LIBRARY_VERSION = '1'
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

-- A product's stock; nil when the product does not exist. A score that is not a stock is refused.
local function read_stock(key, product)
  local score = redis.call('ZSCORE', key, product)
  if score == false then return nil end
  local stock = safe_integer(score)
  if not stock or stock < 0 then corrupted(key, 'stock of ' .. product .. ' is ' .. score .. ', not an integer in [0, 2^53)') end
  return stock
end

--[[ inventory_version  (no-writes)
  Reply: the library version string; the loader compares it with this file. ]]
local function version()
  return LIBRARY_VERSION
end

--[[ inventory_set_stock
  KEYS[1] stock
  ARGV[1] product id   ARGV[2] stock (integer in [0, 2^53))
  Reply: the stock ]]
local function set_stock(keys, args)
  check_type(keys[1], 'zset')
  redis.call('ZADD', keys[1], args[2], args[1])
  return tonumber(args[2])
end

--[[ inventory_restock
  KEYS[1] stock
  ARGV[1] product id   ARGV[2] quantity (> 0)
  Reply: the stock after  — or PRODUCT_NOT_FOUND / STOCK_LIMIT_EXCEEDED ]]
local function restock(keys, args)
  local product, quantity = args[1], tonumber(args[2])
  local stock = read_stock(keys[1], product)
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = product }) end
  if stock + quantity > MAX_SAFE then
    return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = product,
      stock = stock, quantity = quantity })
  end
  return tonumber(redis.call('ZINCRBY', keys[1], args[2], product))
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
redis.register_function('inventory_set_stock', set_stock)
redis.register_function('inventory_restock', restock)
