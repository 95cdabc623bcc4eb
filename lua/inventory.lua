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
  Rule of every function: KEYS and ARGV are validated first (INVALID_ARGUMENT, lua/include/args.lua), then all
  reads and checks run, then the writes — because Redis never rolls back.
  lua/orders.lua reads and writes the same sorted set (placing and cancelling orders).
  Assembled at load time with the prelude below (libs/redis-atomic/src/redis/lua-source.ts); the version is a
  hash of the assembled source.
]]


local LIBRARY_VERSION = '{{version}}'

--- @include core
--- @include args
--- @include idempotency
--- @include stock

--[[ inventory_version  (no-writes)
  Reply: the library version (a hash of the assembled source); the loader compares it with its own build. ]]
local function version(keys, args)
  if #keys > 0 then invalid('KEYS', 'none here') end
  arity(args, 0)
  return LIBRARY_VERSION
end

-- Both write functions: KEYS stock, events; ARGV product id, an integer, events maxlen.
local function stock_args(min, name)
  return function(keys, args)
    keys_ok(keys, 2)
    arity(args, 3)
    id_arg(args[1], 'product id')
    local n = int_arg(args[2], name, min, MAX_SAFE)
    int_arg(args[3], 'events maxlen', 1, MAX_SAFE)
    return n
  end
end

--[[ inventory_set_stock
  KEYS[1] stock   KEYS[2] events
  ARGV[1] product id   ARGV[2] stock (integer in [0, 2^53))   ARGV[3] events maxlen (>= 1)
  Reply: { stock }   (write functions: see Idempotency above) ]]
local function set_stock(keys, args, stock)
  check_type(keys[1], 'zset')
  check_type(keys[2], 'stream', 'event log is not a stream')
  redis.call('ZADD', keys[1], args[2], args[1])
  append_event(keys[2], args[3], 'stock.set', '{"productId":"' .. args[1] .. '","stock":' .. args[2] .. '}')
  return { stock }
end

--[[ inventory_restock
  KEYS[1] stock   KEYS[2] events
  ARGV[1] product id   ARGV[2] quantity (> 0)   ARGV[3] events maxlen (>= 1)
  Reply: { stock after }  — or PRODUCT_NOT_FOUND / STOCK_LIMIT_EXCEEDED ]]
local function restock(keys, args, quantity)
  local product = args[1]
  local stock = read_stock(keys[1], product)
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = product }) end
  if stock + quantity > MAX_SAFE then
    return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = product,
      stock = stock, quantity = quantity })
  end
  check_type(keys[2], 'stream', 'event log is not a stream')
  local after = stock + quantity
  redis.call('ZINCRBY', keys[1], args[2], product)
  append_event(keys[2], args[3], 'stock.restocked',
    '{"productId":"' .. product .. '","quantity":' .. args[2] .. ',"stock":' .. int_text(after) .. '}')
  return { after }
end

--[[ inventory_get  (no-writes)
  KEYS[1] stock
  ARGV[1] product id
  Reply: the stock  — or PRODUCT_NOT_FOUND ]]
local function get(keys, args)
  keys_ok(keys, 1)
  arity(args, 1)
  id_arg(args[1], 'product id')
  local stock = read_stock(keys[1], args[1])
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = args[1] }) end
  return stock
end

--[[ inventory_low_stock  (no-writes)
  KEYS[1] stock
  ARGV[1] below (stock strictly under it; an integer in [0, 2^53))   ARGV[2] limit (1 to 100000)
  Reply: flat { product id, stock, product id, stock, … }, lowest stock first (ties by product id) ]]
local function low_stock(keys, args)
  keys_ok(keys, 1)
  arity(args, 2)
  int_arg(args[1], 'below', 0, MAX_SAFE)
  int_arg(args[2], 'limit', 1, 100000)
  local rows = redis.pcall('ZRANGEBYSCORE', keys[1], '-inf', '(' .. args[1], 'WITHSCORES', 'LIMIT', 0, args[2])
  if rows.err then corrupted(keys[1], 'key is not a zset') end
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
redis.register_function('inventory_set_stock', idempotent(set_stock, stock_args(0, 'stock')))
redis.register_function('inventory_restock', idempotent(restock, stock_args(1, 'quantity')))
