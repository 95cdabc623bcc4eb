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
    order.claimed / order.completed / order.requeued { orderId, userId }
    reservation.consumed { reservationId, productId, quantity, orderId }   (orders_place_reserved, after order.placed)

  Status: pending → processing → completed, or pending → cancelled; processing → pending again when an operator
  requeues a claim its worker left (orders_requeue). An order is in `pending` exactly while its
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
  Rule of every function: KEYS and ARGV are validated first (INVALID_ARGUMENT, lua/include/args.lua), then all
  reads and checks run, then the writes — because Redis never rolls back.
  Assembled at load time with the prelude below (libs/redis-atomic/src/redis/lua-source.ts); the version is a
  hash of the assembled source.
]]

local LIBRARY_VERSION = '{{version}}'
local STATUSES = { pending = true, processing = true, completed = true, cancelled = true }
local MAX_LINES = 100 -- lines of an order (src/orders/order-rules.ts MAX_LINES)

--- @include core
--- @include args
--- @include idempotency
--- @include stock
--- @include order-records
--- @include order-reservations

--[[ orders_version  (no-writes)
  Reply: the library version (a hash of the assembled source); the loader compares it with its own build. ]]
local function version(keys, args)
  if #keys > 0 then invalid('KEYS', 'none here') end
  arity(args, 0)
  return LIBRARY_VERSION
end

--[[ orders_place
  KEYS[1] stock   KEYS[2] order   KEYS[3] user's orders   KEYS[4] user's stats   KEYS[5] pending queue   KEYS[6] events
  ARGV[1] order id   ARGV[2] user id   ARGV[3] total (sum of quantity x unit price; checked against the items)
  ARGV[4] items as JSON (stored as given: [{ productId, quantity, unitPrice }], one per line below, in order)
  ARGV[5] events maxlen (>= 1)   ARGV[6..] per line (1 to 100, products different): product id, quantity (> 0)
  Reply: { created time (ms, server clock) }   (write functions: see Idempotency above)
  — or ORDER_EXISTS / PRODUCT_NOT_FOUND / OUT_OF_STOCK (the first failing line, 0-based `index`) / STATS_LIMIT_EXCEEDED ]]
local function place_args(keys, args)
  keys_ok(keys, 6)
  local count = (#args - 5) / 2
  if count < 1 or count > MAX_LINES or count ~= math.floor(count) then
    invalid('ARGV', '5 values and then a product id and a quantity for each of 1 to ' .. MAX_LINES .. ' lines')
  end
  return check_order_args(args, count, 4, 2)
end

local function place(keys, args, total)
  local id, user = args[1], args[2]
  if redis.call('EXISTS', keys[2]) == 1 then
    return fail('ORDER_EXISTS', { message = 'order already exists', orderId = id })
  end
  local stocks = {}
  for i = 6, #args, 2 do
    local index, product, quantity = (i - 6) / 2, args[i], tonumber(args[i + 1])
    local stock = read_stock(keys[1], product) -- also refuses a stock key of another type
    if stock == nil then
      return fail('PRODUCT_NOT_FOUND', { message = 'product not found', index = index, productId = product })
    end
    if stock < quantity then
      return fail('OUT_OF_STOCK', { message = 'not enough stock', index = index, productId = product,
        requested = quantity, available = stock })
    end
    stocks[#stocks + 1] = stock - quantity
  end
  local stats = read_stats(keys[4])
  if stats.spent + total > MAX_SAFE then
    return fail('STATS_LIMIT_EXCEEDED', { message = "the user's total spent would exceed the largest safe integer", userId = user })
  end
  check_type(keys[3], 'set')
  check_type(keys[5], 'list')
  check_type(keys[6], 'stream', 'event log is not a stream')
  local now = redis.call('TIME')
  local created = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  -- Writes: every check passed.
  local lines = {}
  for i = 6, #args, 2 do
    redis.call('ZINCRBY', keys[1], '-' .. args[i + 1], args[i])
    lines[#lines + 1] = { args[i], tonumber(args[i + 1]), stocks[#lines + 1] }
  end
  redis.call('HSET', keys[2], 'user', user, 'status', 'pending', 'total', args[3], 'created', created, 'items', args[4])
  redis.call('SADD', keys[3], id)
  redis.call('HINCRBY', keys[4], 'totalOrders', 1)
  redis.call('HINCRBY', keys[4], 'totalSpent', args[3])
  redis.call('LPUSH', keys[5], id)
  append_event(keys[6], args[5], 'order.placed', order_event(id, user, total, lines))
  return { created }
end


--[[ orders_cancel
  KEYS[1] stock   KEYS[2] order   KEYS[3] the order's user's stats   KEYS[4] pending queue   KEYS[5] events
  ARGV[1] order id   ARGV[2] the order's user id (looked up by the caller: an order's user never changes), or ''
          when the caller found no order — KEYS[3] is then any key of the slot (the order's, say), and never touched
  ARGV[3] events maxlen (>= 1)
  Reply: the order after the change (order_reply)
  — or ORDER_NOT_FOUND / ORDER_NOT_CANCELLABLE / STOCK_LIMIT_EXCEEDED
  Raises ORDER_LOOKUP_STALE when the caller found no order but there is one now: look its user up and retry. ]]
local function cancel_args(keys, args)
  arity(args, 3)
  keys_ok(keys, 5, args[2] == '')
  id_arg(args[1], 'order id')
  if args[2] ~= '' then id_arg(args[2], 'user id') end
  int_arg(args[3], 'events maxlen', 1, MAX_SAFE)
end

local function cancel(keys, args)
  local id = args[1]
  local order = read_order(keys[2])
  if not order then return fail('ORDER_NOT_FOUND', { message = 'order not found', orderId = id }) end
  if args[2] == '' then signal('ORDER_LOOKUP_STALE', { message = 'the order appeared after the lookup', orderId = id }) end
  if order[1] ~= args[2] then corrupted(keys[2], 'order belongs to another user than the caller looked up') end
  if order[2] ~= 'pending' then
    return fail('ORDER_NOT_CANCELLABLE', { message = 'only a pending order can be cancelled', orderId = id, status = order[2] })
  end
  local lines = read_lines(keys[2], order[5])
  local after = {}
  for i, line in ipairs(lines) do
    local stock = read_stock(keys[1], line[1]) or 0 -- also refuses a stock key of another type
    if stock + line[2] > MAX_SAFE then
      return fail('STOCK_LIMIT_EXCEEDED', { message = 'stock would exceed the largest safe integer', productId = line[1],
        stock = stock, quantity = line[2] })
    end
    after[i] = { line[1], line[2], stock + line[2] }
  end
  local stats = read_stats(keys[3])
  if not stats.present then corrupted(keys[3], 'the stats of a pending order are missing') end
  check_type(keys[4], 'list')
  check_type(keys[5], 'stream', 'event log is not a stream')
  -- Writes: every check passed.
  for _, line in ipairs(lines) do redis.call('ZINCRBY', keys[1], int_text(line[2]), line[1]) end
  redis.call('HSET', keys[2], 'status', 'cancelled')
  redis.call('HINCRBY', keys[3], 'totalOrders', -1)
  redis.call('HINCRBY', keys[3], 'totalSpent', int_text(-tonumber(order[3]))) -- never '-0': HINCRBY refuses it
  redis.call('LREM', keys[4], 1, id)
  append_event(keys[5], args[3], 'order.cancelled', order_event(id, order[1], tonumber(order[3]), after))
  order[2] = 'cancelled'
  return order_reply(order, lines)
end

--[[ orders_peek  (no-writes)
  KEYS[1] pending queue
  Reply: the id of the oldest pending order, or nil ]]
local function peek(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  return list_read(keys[1], 'LINDEX', keys[1], -1)
end

--[[ orders_claim — a reliable-queue move: the claim stays visible in the processing list until completed
  KEYS[1] pending queue   KEYS[2] processing list   KEYS[3] the candidate's order (none when ARGV[1] is '')   KEYS[last] events
  ARGV[1] candidate id: the oldest pending one when the caller peeked ('' when it found none)   ARGV[2] events maxlen (>= 1)
  Reply: { order id, then the order after the change (order_reply) }
  Raises (no outcome, so nothing recorded under an idempotency key; a retry under it claims afresh):
    QUEUE_EMPTY   nothing is pending
    CLAIM_MOVED   the candidate is no longer the oldest (claimed or cancelled meanwhile): retry with `oldest` ]]
local function claim_args(keys, args)
  arity(args, 2)
  keys_ok(keys, args[1] == '' and 3 or 4)
  if args[1] ~= '' then id_arg(args[1], 'candidate id') end
  int_arg(args[2], 'events maxlen', 1, MAX_SAFE)
end

local function claim(keys, args)
  local oldest = list_read(keys[1], 'LINDEX', keys[1], -1)
  if oldest == false then signal('QUEUE_EMPTY', { message = 'no order is pending' }) end
  if oldest ~= args[1] then signal('CLAIM_MOVED', { message = 'the candidate is no longer the oldest', oldest = oldest }) end
  local order = read_order(keys[3])
  if not order or order[2] ~= 'pending' then corrupted(keys[3], 'a queued order is not pending') end
  check_type(keys[2], 'list')
  check_type(keys[4], 'stream', 'event log is not a stream')
  local lines = read_lines(keys[3], order[5])
  redis.call('LMOVE', keys[1], keys[2], 'RIGHT', 'LEFT')
  redis.call('HSET', keys[3], 'status', 'processing')
  append_event(keys[4], args[2], 'order.claimed', encode({ orderId = args[1], userId = order[1] }))
  order[2] = 'processing'
  local reply = order_reply(order, lines)
  table.insert(reply, 1, args[1])
  return reply
end

--[[ orders_complete
  KEYS[1] order   KEYS[2] processing list   KEYS[3] events
  ARGV[1] order id   ARGV[2] events maxlen (>= 1)
  Reply: the order after the change (order_reply)
  — or ORDER_NOT_FOUND / INVALID_TRANSITION ]]
local function complete_args(keys, args)
  keys_ok(keys, 3)
  arity(args, 2)
  id_arg(args[1], 'order id')
  int_arg(args[2], 'events maxlen', 1, MAX_SAFE)
end

local function complete(keys, args)
  local order = read_order(keys[1])
  if not order then return fail('ORDER_NOT_FOUND', { message = 'order not found', orderId = args[1] }) end
  if order[2] ~= 'processing' then
    return fail('INVALID_TRANSITION', { message = 'only a processing order can be completed', orderId = args[1], status = order[2] })
  end
  check_type(keys[2], 'list')
  check_type(keys[3], 'stream', 'event log is not a stream')
  local lines = read_lines(keys[1], order[5])
  redis.call('HSET', keys[1], 'status', 'completed')
  redis.call('LREM', keys[2], 1, args[1])
  append_event(keys[3], args[2], 'order.completed', encode({ orderId = args[1], userId = order[1] }))
  order[2] = 'completed'
  return order_reply(order, lines)
end

--[[ orders_requeue — a claim its worker left (crashed) back to the queue: processing → pending, off the
  processing list and onto the claiming end of the pending list (RPUSH: the next claim takes it)
  KEYS[1] order   KEYS[2] processing list   KEYS[3] pending list   KEYS[4] events
  ARGV[1] order id   ARGV[2] events maxlen (>= 1)
  Reply: the order after the change (order_reply)
  — or ORDER_NOT_FOUND / INVALID_TRANSITION ]]
local function requeue_args(keys, args)
  keys_ok(keys, 4)
  arity(args, 2)
  id_arg(args[1], 'order id')
  int_arg(args[2], 'events maxlen', 1, MAX_SAFE)
end

local function requeue(keys, args)
  local order = read_order(keys[1])
  if not order then return fail('ORDER_NOT_FOUND', { message = 'order not found', orderId = args[1] }) end
  if order[2] ~= 'processing' then
    return fail('INVALID_TRANSITION', { message = 'only a processing order can be requeued', orderId = args[1], status = order[2] })
  end
  check_type(keys[2], 'list')
  check_type(keys[3], 'list')
  check_type(keys[4], 'stream', 'event log is not a stream')
  local lines = read_lines(keys[1], order[5])
  redis.call('HSET', keys[1], 'status', 'pending')
  redis.call('LREM', keys[2], 1, args[1])
  redis.call('RPUSH', keys[3], args[1])
  append_event(keys[4], args[2], 'order.requeued', encode({ orderId = args[1], userId = order[1] }))
  order[2] = 'pending'
  return order_reply(order, lines)
end

--[[ orders_get  (no-writes)
  KEYS[1..n] orders (n >= 1; a key may repeat)
  Reply: flat { user, status, total, created, items } per key, in order; all five nil for a missing order ]]
local function get(keys, args)
  keys_ok(keys, nil, true)
  arity(args, 0)
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
local function user_orders(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  local ids = redis.pcall('SMEMBERS', keys[1])
  if ids.err then corrupted(keys[1], 'key is not a set') end
  return ids
end

--[[ orders_user_stats  (no-writes)
  KEYS[1] user's stats
  Reply: { totalOrders, totalSpent } (zeros for an unknown user) ]]
local function user_stats(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  local stats = read_stats(keys[1])
  return { stats.count, stats.spent }
end

--[[ orders_queue  (no-writes)
  KEYS[1] pending queue   KEYS[2] processing list
  Reply: flat { number of pending ids, pending ids newest first…, processing ids newest first… } ]]
local function queue(keys, args)
  keys_ok(keys, 2)
  arity(args, 0)
  local pending = list_read(keys[1], 'LRANGE', keys[1], 0, -1)
  local reply = { #pending }
  for _, id in ipairs(pending) do reply[#reply + 1] = id end
  for _, id in ipairs(list_read(keys[2], 'LRANGE', keys[2], 0, -1)) do reply[#reply + 1] = id end
  return reply
end

redis.register_function{ function_name = 'orders_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_peek', callback = peek, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_user_orders', callback = user_orders, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_user_stats', callback = user_stats, flags = { 'no-writes' } }
redis.register_function{ function_name = 'orders_queue', callback = queue, flags = { 'no-writes' } }
redis.register_function('orders_place', idempotent(place, place_args))
redis.register_function('orders_place_reserved', idempotent(place_reserved, place_reserved_args))
redis.register_function('orders_cancel', idempotent(cancel, cancel_args))
redis.register_function('orders_claim', idempotent(claim, claim_args))
redis.register_function('orders_complete', idempotent(complete, complete_args))
redis.register_function('orders_requeue', idempotent(requeue, requeue_args))
