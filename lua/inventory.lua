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

  Reservations (see lua/include/stock.lua for their keys): the stock ZSET's score is the AVAILABLE stock — units for
  sale; a hold moves units from it to the held HASH, a release or an expiry moves them back, an order consuming
  the reservation (lua/orders.lua orders_place_reserved) takes them from the held HASH.
                                                reservation.created { reservationId, productId, quantity, expiresAtMs, stock }
                                                reservation.released / reservation.expired { reservationId, productId, quantity, stock }

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


local MAX_TTL_SECONDS = 604800 -- a reservation is held for 1 s to 7 days (src/shop/inventory/inventory-rules.ts)
local MAX_SWEEP = 1000 -- reservations one inventory_expire_due call looks at

--[[ inventory_reserve
  KEYS[1] stock   KEYS[2] held   KEYS[3] deadlines   KEYS[4] the reservation   KEYS[5] events
  ARGV[1] product id   ARGV[2] quantity (> 0)   ARGV[3] ttl seconds (1 to 604800)   ARGV[4] reservation id
  ARGV[5] events maxlen (>= 1)
  Reply: the reservation (reservation_reply)   (write functions: see Idempotency above)
  — or RESERVATION_EXISTS / PRODUCT_NOT_FOUND / OUT_OF_STOCK (available stock below the quantity) ]]
local function reserve_args(keys, args)
  keys_ok(keys, 5)
  arity(args, 5)
  id_arg(args[1], 'product id')
  local quantity = int_arg(args[2], 'quantity', 1, MAX_SAFE)
  local ttl = int_arg(args[3], 'ttl seconds', 1, MAX_TTL_SECONDS)
  id_arg(args[4], 'reservation id')
  int_arg(args[5], 'events maxlen', 1, MAX_SAFE)
  return quantity, ttl
end

local function reserve(keys, args, quantity, ttl)
  local product, id = args[1], args[4]
  if redis.call('EXISTS', keys[4]) == 1 then
    return fail('RESERVATION_EXISTS', { message = 'reservation already exists', reservationId = id })
  end
  local stock = read_stock(keys[1], product)
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = product }) end
  if stock < quantity then
    return fail('OUT_OF_STOCK', { message = 'not enough stock', productId = product, requested = quantity, available = stock })
  end
  local held = read_held(keys[2], product)
  if held + quantity > MAX_SAFE then corrupted(keys[2], 'held units would pass 2^53 - 1') end
  check_type(keys[3], 'zset')
  check_type(keys[5], 'stream', 'event log is not a stream')
  local now = now_ms()
  local r = { product = product, quantity = quantity, status = 'held', created = now, expires = now + ttl * 1000, order = '-' }
  -- Writes: every check passed.
  redis.call('ZINCRBY', keys[1], '-' .. args[2], product)
  redis.call('HINCRBY', keys[2], product, args[2])
  redis.call('HSET', keys[4], 'product', product, 'quantity', args[2], 'status', 'held', 'created', int_text(now),
    'expires', int_text(r.expires), 'order', '-')
  redis.call('ZADD', keys[3], int_text(r.expires), id)
  append_event(keys[5], args[5], 'reservation.created',
    reservation_event(id, r, ',"expiresAtMs":' .. int_text(r.expires) .. ',"stock":' .. int_text(stock - quantity)))
  return reservation_reply(r, now)
end

--[[ inventory_release — a held reservation given up early: its units back to the stock
  KEYS[1] stock   KEYS[2] held   KEYS[3] deadlines   KEYS[4] the reservation   KEYS[5] events
  ARGV[1] product id (the reservation's, as the caller names it)   ARGV[2] reservation id   ARGV[3] events maxlen (>= 1)
  Reply: the reservation after the change (reservation_reply)
  — or RESERVATION_NOT_FOUND / RESERVATION_PRODUCT_MISMATCH / RESERVATION_RELEASED / _CONSUMED / _EXPIRED /
    STOCK_LIMIT_EXCEEDED ]]
local function release_args(keys, args)
  keys_ok(keys, 5)
  arity(args, 3)
  id_arg(args[1], 'product id')
  id_arg(args[2], 'reservation id')
  int_arg(args[3], 'events maxlen', 1, MAX_SAFE)
end

local function release(keys, args)
  local product, id = args[1], args[2]
  local r = read_reservation(keys[4])
  if not r then return fail('RESERVATION_NOT_FOUND', { message = 'reservation not found', reservationId = id }) end
  if r.product ~= product then
    return fail('RESERVATION_PRODUCT_MISMATCH', { message = 'the reservation is of another product', reservationId = id,
      productId = product, reservedProductId = r.product })
  end
  local now = now_ms()
  local refusal = reservation_refusal(r, id, now)
  if refusal then return refusal end
  local stock = read_stock(keys[1], product) or 0
  if stock + r.quantity > MAX_SAFE then
    return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = product,
      stock = stock, quantity = r.quantity })
  end
  if read_held(keys[2], product) < r.quantity then corrupted(keys[2], 'held units of ' .. product .. ' are fewer than a live reservation holds') end
  check_type(keys[3], 'zset')
  check_type(keys[5], 'stream', 'event log is not a stream')
  -- Writes: every check passed.
  redis.call('ZINCRBY', keys[1], int_text(r.quantity), product)
  redis.call('HINCRBY', keys[2], product, int_text(-r.quantity))
  redis.call('HSET', keys[4], 'status', 'released')
  redis.call('ZREM', keys[3], id)
  append_event(keys[5], args[3], 'reservation.released', reservation_event(id, r, ',"stock":' .. int_text(stock + r.quantity)))
  r.status = 'released'
  return reservation_reply(r, now)
end

--[[ inventory_reservation  (no-writes)
  KEYS[1] the reservation
  ARGV[1] product id (as the caller names it)   ARGV[2] reservation id
  Reply: the reservation (reservation_reply: a held one past its expiry shows as expired)
  — or RESERVATION_NOT_FOUND / RESERVATION_PRODUCT_MISMATCH ]]
local function reservation(keys, args)
  keys_ok(keys, 1)
  arity(args, 2)
  id_arg(args[1], 'product id')
  id_arg(args[2], 'reservation id')
  local r = read_reservation(keys[1])
  if not r then return fail('RESERVATION_NOT_FOUND', { message = 'reservation not found', reservationId = args[2] }) end
  if r.product ~= args[1] then
    return fail('RESERVATION_PRODUCT_MISMATCH', { message = 'the reservation is of another product', reservationId = args[2],
      productId = args[1], reservedProductId = r.product })
  end
  return reservation_reply(r, now_ms())
end

--[[ inventory_availability  (no-writes)
  KEYS[1] stock   KEYS[2] held
  ARGV[1] product id
  Reply: { available stock, held units }  — or PRODUCT_NOT_FOUND ]]
local function availability(keys, args)
  keys_ok(keys, 2)
  arity(args, 1)
  id_arg(args[1], 'product id')
  local stock = read_stock(keys[1], args[1])
  if stock == nil then return fail('PRODUCT_NOT_FOUND', { message = 'product not found', productId = args[1] }) end
  return { stock, read_held(keys[2], args[1]) }
end

--[[ inventory_due  (no-writes)
  KEYS[1] deadlines
  ARGV[1] limit (1 to 1000)
  Reply: ids of reservations whose expiry has passed (server clock), earliest first, at most `limit` ]]
local function due(keys, args)
  keys_ok(keys, 1)
  arity(args, 1)
  int_arg(args[1], 'limit', 1, MAX_SWEEP)
  local ids = redis.pcall('ZRANGEBYSCORE', keys[1], '-inf', int_text(now_ms()), 'LIMIT', 0, args[1])
  if ids.err then corrupted(keys[1], 'key is not a zset') end
  return ids
end

--[[ inventory_expire_due — the sweeper's step: safe to run from every instance at once, and again (idempotent)
  KEYS[1] stock   KEYS[2] held   KEYS[3] deadlines   KEYS[4] events   KEYS[5..] reservations (1 to 1000, as inventory_due named them)
  ARGV[1] events maxlen (>= 1)   ARGV[2..] the reservation ids, one per reservation key
  Each reservation is re-checked here: a held one past its expiry is expired (units back to the stock,
  reservation.expired); one no longer held, or gone, only leaves the deadline index; one not yet due is left.
  Reply: { number expired, the expired ids… }   (write functions: see Idempotency above — the sweeper calls it without
  a key: running it twice expires nothing twice) ]]
local function expire_due_args(keys, args)
  local count = #args - 1
  if count < 1 or count > MAX_SWEEP then invalid('ARGV', 'events maxlen and then 1 to ' .. MAX_SWEEP .. ' reservation ids') end
  keys_ok(keys, 4 + count)
  int_arg(args[1], 'events maxlen', 1, MAX_SAFE)
  for i = 1, count do id_arg(args[i + 1], 'reservation id') end
  return count
end

local function expire_due(keys, args, count)
  local now = now_ms()
  local expiring, leaving, stock, held = {}, {}, {}, {}
  for i = 1, count do
    local id, r = args[i + 1], read_reservation(keys[4 + i])
    if not r or r.status ~= 'held' then
      leaving[#leaving + 1] = id
    elseif now >= r.expires then
      if stock[r.product] == nil then
        stock[r.product] = read_stock(keys[1], r.product) or 0
        held[r.product] = read_held(keys[2], r.product)
      end
      if stock[r.product] + r.quantity <= MAX_SAFE and held[r.product] >= r.quantity then
        stock[r.product] = stock[r.product] + r.quantity
        held[r.product] = held[r.product] - r.quantity
        expiring[#expiring + 1] = { id, keys[4 + i], r, stock[r.product] }
      elseif held[r.product] < r.quantity then
        corrupted(keys[2], 'held units of ' .. r.product .. ' are fewer than a live reservation holds')
      end -- a stock at the largest safe integer keeps the reservation held until it has room
    end
  end
  check_type(keys[3], 'zset')
  check_type(keys[4], 'stream', 'event log is not a stream')
  -- Writes: every check passed.
  local reply = { #expiring }
  for _, e in ipairs(expiring) do
    local id, key, r, after = e[1], e[2], e[3], e[4]
    redis.call('ZINCRBY', keys[1], int_text(r.quantity), r.product)
    redis.call('HINCRBY', keys[2], r.product, int_text(-r.quantity))
    redis.call('HSET', key, 'status', 'expired')
    redis.call('ZREM', keys[3], id)
    append_event(keys[4], args[1], 'reservation.expired', reservation_event(id, r, ',"stock":' .. int_text(after)))
    reply[#reply + 1] = id
  end
  for _, id in ipairs(leaving) do redis.call('ZREM', keys[3], id) end
  return reply
end

redis.register_function{ function_name = 'inventory_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_low_stock', callback = low_stock, flags = { 'no-writes' } }
redis.register_function('inventory_set_stock', idempotent(set_stock, stock_args(0, 'stock')))
redis.register_function('inventory_restock', idempotent(restock, stock_args(1, 'quantity')))
redis.register_function{ function_name = 'inventory_reservation', callback = reservation, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_availability', callback = availability, flags = { 'no-writes' } }
redis.register_function{ function_name = 'inventory_due', callback = due, flags = { 'no-writes' } }
redis.register_function('inventory_reserve', idempotent(reserve, reserve_args))
redis.register_function('inventory_release', idempotent(release, release_args))
redis.register_function('inventory_expire_due', idempotent(expire_due, expire_due_args))
