#!lua name=orders
--[[
  Orders of one shop: every function is one atomic step on the shop's hash slot, across five data types.

  Stock        ZSET  {<shop>}:inventory:stock          Inventory's (lua/inventory.lua): member = product id, score = stock
  Order        HASH  {<shop>}:order:<id>               user, status, total, created (ms), items (JSON lines, stored as given)
  User orders  SET   {<shop>}:user-orders:<user>       order ids (cancelled ones stay)
  User stats   HASH  {<shop>}:user-stats:<user>        totalOrders, totalSpent — over the user's non-cancelled orders
  Pending      LIST  {<shop>}:queue:pending            ids of pending orders: LPUSH on place, the oldest (rightmost) claimed
  Processing   LIST  {<shop>}:queue:processing         ids of claimed orders (LMOVE from pending) until completed
  Record       STRING {<shop>}:shop-idem:<digest>       an idempotency record (below), with a TTL; one key space for the
                                                        shop's writes, Inventory's (lua/inventory.lua) included

  Events       STREAM {<shop>}:events                  the shop's event log (with lua/inventory.lua): every committed
                                                        change appends one entry in the same FCALL (XADD MAXLEN ~),
                                                        its key always the LAST of KEYS (before the record); failures,
                                                        retry signals and replays append nothing:
    order.placed / order.cancelled { orderId, userId, total, items = [{ productId, quantity, stock (after) }] }
    order.claimed / order.completed { orderId, userId }

  Status: pending → processing → completed, or pending → cancelled. An order is in `pending` exactly while its
  status is pending and in `processing` exactly while it is processing: every status change moves it in the
  same step.
  Quantities, prices, totals and stock are integers within 2^53 - 1 (stock is a double score: exact below 2^53).
  Every key is declared in KEYS: keys named by stored data (the order's user, the queue's oldest id) are looked
  up by the caller first; they never change (a user's orders) or are re-checked here (the oldest id).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  What is no outcome — a retry signal to the caller (a stale lookup, a claim candidate gone), or a claim that
  found nothing pending — is raised instead (`error({ err = … })`): the idempotency wrapper records nothing then.
  Replies are flat and comma-free (an idempotency record joins them with ','): an order travels as its fields
  and lines (`order_reply`), never as its items JSON.
  Rule of every function: all reads and checks run before the first write, because Redis never rolls back.
]]

local LIBRARY_VERSION = '3'
local MAX_SAFE = 9007199254740991
local STATUSES = { pending = true, processing = true, completed = true, cancelled = true }

-- `CODE {json}`. Numbers are written with %d: cjson keeps only 14 significant digits, totals need 16.
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

-- No outcome: the caller retries or answers "nothing"; raised, so no idempotency record keeps it. Before any write.
local function signal(code, details)
  error({ err = code .. ' ' .. encode(details) })
end

-- An integer exactly as HINCRBY reads one (and as Redis writes an integral score) within ±MAX_SAFE; nil otherwise.
local function safe_integer(text)
  if not text or #text > 17 or not (text == '0' or string.match(text, '^%-?[1-9]%d*$')) then return nil end
  local n = tonumber(text)
  if n > MAX_SAFE or n < -MAX_SAFE then return nil end
  return n
end

-- A write to a key of another type would fail after earlier writes: check first.
local function check_type(key, expected)
  local kind = redis.call('TYPE', key).ok
  if kind ~= expected and kind ~= 'none' then corrupted(key, 'key is not a ' .. expected) end
end

-- The shop's event log (STREAM {<shop>}:events, shared by lua/inventory.lua and lua/orders.lua): one entry
-- { type, data = JSON } per committed write, appended last, its key TYPE-checked before the first write.
local function append_event(key, maxlen, event_type, data)
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'type', event_type, 'data', data)
end

-- { productId, quantity, stock } per line, as JSON (numbers with %d).
local function lines_json(lines)
  local parts = {}
  for i, line in ipairs(lines) do parts[i] = encode({ productId = line[1], quantity = line[2], stock = line[3] }) end
  return '[' .. table.concat(parts, ',') .. ']'
end

local function order_event(id, user, total, lines)
  return '{"orderId":' .. cjson.encode(id) .. ',"userId":' .. cjson.encode(user) .. ',"total":' ..
    string.format('%d', total) .. ',"items":' .. lines_json(lines) .. '}'
end

-- A product's stock; nil when the product does not exist.
local function read_stock(key, product)
  local score = redis.call('ZSCORE', key, product)
  if score == false then return nil end
  local stock = safe_integer(score)
  if not stock or stock < 0 then corrupted(key, 'stock of ' .. product .. ' is ' .. score .. ', not an integer in [0, 2^53)') end
  return stock
end

-- The order's hash fields { user, status, total, created, items }, checked; nil when there is no such order.
local ORDER_FIELDS = { 'user', 'status', 'total', 'created', 'items' }
local function read_order(key)
  local fields = redis.call('HMGET', key, unpack(ORDER_FIELDS))
  if fields[1] == false then return nil end
  if not STATUSES[fields[2]] or not safe_integer(fields[3]) or not safe_integer(fields[4]) or fields[5] == false then
    corrupted(key, 'order is not in the shape this library writes')
  end
  return fields
end

-- The user's stats as numbers (0 when absent).
local function read_stats(key)
  check_type(key, 'hash')
  local fields = redis.call('HMGET', key, 'totalOrders', 'totalSpent')
  local count, spent = safe_integer(fields[1] or '0'), safe_integer(fields[2] or '0')
  if not count or not spent then corrupted(key, 'user stats are not safe integers') end
  return { count = count, spent = spent, present = fields[1] ~= false and fields[2] ~= false }
end

-- A whole number in [min, MAX_SAFE] as cjson decodes one (a double: exact below 2^53).
local function is_count(value, min)
  return type(value) == 'number' and value >= min and value <= MAX_SAFE and value == math.floor(value)
end

-- The stored lines as { product, quantity, unit price }.
local function read_lines(key, items)
  local ok, lines = pcall(cjson.decode, items)
  if not ok or type(lines) ~= 'table' or #lines == 0 then corrupted(key, 'order items are not a JSON array') end
  local result = {}
  for i, line in ipairs(lines) do
    if type(line) ~= 'table' or type(line.productId) ~= 'string' or not is_count(line.quantity, 1) or
      not is_count(line.unitPrice, 0) then
      corrupted(key, 'order line ' .. i .. ' is not a product, a quantity and a unit price')
    end
    result[i] = { line.productId, line.quantity, line.unitPrice }
  end
  return result
end

-- An order as reply values: { user, status, total, created, then per line: product id, quantity, unit price }
-- (src/orders/adapters/redis-replies.ts decodes it; the transactions adapter records the same layout).
local function order_reply(order, lines)
  local reply = { order[1], order[2], order[3], order[4] }
  for _, line in ipairs(lines) do
    reply[#reply + 1] = line[1]
    reply[#reply + 1] = line[2]
    reply[#reply + 1] = line[3]
  end
  return reply
end

--[[ Idempotency (the same wrapper as lua/accounts.lua's and lua/inventory.lua's: keep them identical) —
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

--[[ orders_version  (no-writes)
  Reply: the library version string; the loader compares it with this file. ]]
local function version()
  return LIBRARY_VERSION
end

--[[ orders_place
  KEYS[1] stock   KEYS[2] order   KEYS[3] user's orders   KEYS[4] user's stats   KEYS[5] pending queue   KEYS[6] events
  ARGV[1] order id   ARGV[2] user id   ARGV[3] total (sum of quantity x unit price, checked by the caller)
  ARGV[4] items as JSON (stored as given)   ARGV[5] events maxlen   ARGV[6..] per line: product id, quantity (> 0)
  Reply: { created time (ms, server clock) }   (write functions: see Idempotency above)
  — or ORDER_EXISTS / PRODUCT_NOT_FOUND / OUT_OF_STOCK (the first failing line, 0-based `index`) / STATS_LIMIT_EXCEEDED ]]
local function place(keys, args)
  local id, user, total = args[1], args[2], tonumber(args[3])
  if redis.call('EXISTS', keys[2]) == 1 then
    return fail('ORDER_EXISTS', { message = 'order already exists', orderId = id })
  end
  check_type(keys[1], 'zset')
  for i = 6, #args, 2 do
    local index, product, quantity = (i - 6) / 2, args[i], tonumber(args[i + 1])
    local stock = read_stock(keys[1], product)
    if stock == nil then
      return fail('PRODUCT_NOT_FOUND', { message = 'product not found', index = index, productId = product })
    end
    if stock < quantity then
      return fail('OUT_OF_STOCK', { message = 'not enough stock', index = index, productId = product,
        requested = quantity, available = stock })
    end
  end
  local stats = read_stats(keys[4])
  if stats.spent + total > MAX_SAFE then
    return fail('STATS_LIMIT_EXCEEDED', { message = "the user's total spent would exceed the largest safe integer", userId = user })
  end
  check_type(keys[3], 'set')
  check_type(keys[5], 'list')
  check_type(keys[#keys], 'stream')
  local now = redis.call('TIME')
  local created = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  -- Writes: every check passed.
  local lines = {}
  for i = 6, #args, 2 do
    lines[#lines + 1] = { args[i], tonumber(args[i + 1]), tonumber(redis.call('ZINCRBY', keys[1], '-' .. args[i + 1], args[i])) }
  end
  redis.call('HSET', keys[2], 'user', user, 'status', 'pending', 'total', args[3], 'created', created, 'items', args[4])
  redis.call('SADD', keys[3], id)
  redis.call('HINCRBY', keys[4], 'totalOrders', 1)
  redis.call('HINCRBY', keys[4], 'totalSpent', args[3])
  redis.call('LPUSH', keys[5], id)
  append_event(keys[#keys], args[5], 'order.placed', order_event(id, user, total, lines))
  return { created }
end

--[[ orders_cancel
  KEYS[1] stock   KEYS[2] order   KEYS[3] the order's user's stats   KEYS[4] pending queue   KEYS[5] events
  ARGV[1] order id   ARGV[2] the order's user id (looked up by the caller: an order's user never changes), or ''
          when the caller found no order — KEYS[3] is then any key of the slot, and never touched
  ARGV[3] events maxlen
  Reply: the order after the change (order_reply)
  — or ORDER_NOT_FOUND / ORDER_NOT_CANCELLABLE / STOCK_LIMIT_EXCEEDED
  Raises ORDER_LOOKUP_STALE when the caller found no order but there is one now: look its user up and retry. ]]
local function cancel(keys, args)
  local id = args[1]
  local order = read_order(keys[2])
  if not order then return fail('ORDER_NOT_FOUND', { message = 'order not found', orderId = id }) end
  if args[2] == '' then signal('ORDER_LOOKUP_STALE', { message = 'the order appeared after the lookup', orderId = id }) end
  if order[1] ~= args[2] then corrupted(keys[2], 'order belongs to another user than the caller looked up') end
  if order[2] ~= 'pending' then
    return fail('ORDER_NOT_CANCELLABLE', { message = 'only a pending order can be cancelled', orderId = id, status = order[2] })
  end
  check_type(keys[1], 'zset')
  local lines = read_lines(keys[2], order[5])
  for _, line in ipairs(lines) do
    local stock = read_stock(keys[1], line[1]) or 0
    if stock + line[2] > MAX_SAFE then
      return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = line[1],
        stock = stock, quantity = line[2] })
    end
  end
  local stats = read_stats(keys[3])
  if not stats.present then corrupted(keys[3], 'the stats of a pending order are missing') end
  check_type(keys[4], 'list')
  check_type(keys[#keys], 'stream')
  -- Writes: every check passed.
  local after = {}
  for i, line in ipairs(lines) do
    after[i] = { line[1], line[2], tonumber(redis.call('ZINCRBY', keys[1], string.format('%d', line[2]), line[1])) }
  end
  redis.call('HSET', keys[2], 'status', 'cancelled')
  redis.call('HINCRBY', keys[3], 'totalOrders', -1)
  redis.call('HINCRBY', keys[3], 'totalSpent', string.format('%d', -tonumber(order[3]))) -- never '-0': HINCRBY refuses it
  redis.call('LREM', keys[4], 1, id)
  append_event(keys[#keys], args[3], 'order.cancelled', order_event(id, order[1], tonumber(order[3]), after))
  order[2] = 'cancelled'
  return order_reply(order, lines)
end

--[[ orders_peek  (no-writes)
  KEYS[1] pending queue
  Reply: the id of the oldest pending order, or nil ]]
local function peek(keys)
  return redis.call('LINDEX', keys[1], -1)
end

--[[ orders_claim — a reliable-queue move: the claim stays visible in the processing list until completed
  KEYS[1] pending queue   KEYS[2] processing list   KEYS[3] the candidate's order (none when ARGV[1] is '')   KEYS[last] events
  ARGV[1] candidate id: the oldest pending one when the caller peeked ('' when it found none)   ARGV[2] events maxlen
  Reply: { order id, then the order after the change (order_reply) }
  Raises (no outcome, so nothing recorded under an idempotency key; a retry under it claims afresh):
    QUEUE_EMPTY   nothing is pending
    CLAIM_MOVED   the candidate is no longer the oldest (claimed or cancelled meanwhile): retry with `oldest` ]]
local function claim(keys, args)
  local oldest = redis.call('LINDEX', keys[1], -1)
  if oldest == false then signal('QUEUE_EMPTY', { message = 'no order is pending' }) end
  if oldest ~= args[1] then signal('CLAIM_MOVED', { message = 'the candidate is no longer the oldest', oldest = oldest }) end
  local order = read_order(keys[3])
  if not order or order[2] ~= 'pending' then corrupted(keys[3], 'a queued order is not pending') end
  check_type(keys[2], 'list')
  check_type(keys[#keys], 'stream')
  local lines = read_lines(keys[3], order[5])
  redis.call('LMOVE', keys[1], keys[2], 'RIGHT', 'LEFT')
  redis.call('HSET', keys[3], 'status', 'processing')
  append_event(keys[#keys], args[2], 'order.claimed', encode({ orderId = args[1], userId = order[1] }))
  order[2] = 'processing'
  local reply = order_reply(order, lines)
  table.insert(reply, 1, args[1])
  return reply
end

--[[ orders_complete
  KEYS[1] order   KEYS[2] processing list   KEYS[3] events
  ARGV[1] order id   ARGV[2] events maxlen
  Reply: the order after the change (order_reply)
  — or ORDER_NOT_FOUND / INVALID_TRANSITION ]]
local function complete(keys, args)
  local order = read_order(keys[1])
  if not order then return fail('ORDER_NOT_FOUND', { message = 'order not found', orderId = args[1] }) end
  if order[2] ~= 'processing' then
    return fail('INVALID_TRANSITION', { message = 'only a processing order can be completed', orderId = args[1], status = order[2] })
  end
  check_type(keys[2], 'list')
  check_type(keys[3], 'stream')
  local lines = read_lines(keys[1], order[5])
  redis.call('HSET', keys[1], 'status', 'completed')
  redis.call('LREM', keys[2], 1, args[1])
  append_event(keys[3], args[2], 'order.completed', encode({ orderId = args[1], userId = order[1] }))
  order[2] = 'completed'
  return order_reply(order, lines)
end

--[[ orders_get  (no-writes)
  KEYS[1..n] orders
  Reply: flat { user, status, total, created, items } per key, in order; all five nil for a missing order ]]
local function get(keys)
  local reply = {}
  for _, key in ipairs(keys) do
    local order = read_order(key)
    for i = 1, 5 do reply[#reply + 1] = order and order[i] or false end
  end
  return reply
end

--[[ orders_user_orders  (no-writes)
  KEYS[1] user's orders
  Reply: the order ids (unordered) ]]
local function user_orders(keys)
  return redis.call('SMEMBERS', keys[1])
end

--[[ orders_user_stats  (no-writes)
  KEYS[1] user's stats
  Reply: { totalOrders, totalSpent } (zeros for an unknown user) ]]
local function user_stats(keys)
  local stats = read_stats(keys[1])
  return { stats.count, stats.spent }
end

--[[ orders_queue  (no-writes)
  KEYS[1] pending queue   KEYS[2] processing list
  Reply: flat { number of pending ids, pending ids newest first…, processing ids newest first… } ]]
local function queue(keys)
  local pending = redis.call('LRANGE', keys[1], 0, -1)
  local reply = { #pending }
  for _, id in ipairs(pending) do reply[#reply + 1] = id end
  for _, id in ipairs(redis.call('LRANGE', keys[2], 0, -1)) do reply[#reply + 1] = id end
  return reply
end

redis.register_function{ function_name = 'orders_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_peek', callback = peek, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_user_orders', callback = user_orders, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_user_stats', callback = user_stats, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_queue', callback = queue, flags = { 'no-writes' } }
redis.register_function('orders_place', idempotent(place))
redis.register_function('orders_cancel', idempotent(cancel))
redis.register_function('orders_claim', idempotent(claim))
redis.register_function('orders_complete', idempotent(complete))
