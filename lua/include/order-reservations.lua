--[[ lua/include/order-reservations.lua — orders_place_reserved's argument check and body (lua/orders.lua only; kept
  apart so that no source file grows past ~300 lines). Needs core.lua, args.lua, stock.lua (reservations),
  order-records.lua and the MAX_LINES of lua/orders.lua; registered in lua/orders.lua. ]]

--[[ orders_place_reserved — orders_place where some lines consume stock reservations (lua/include/stock.lua):
  a reserved line takes the units its reservation holds (the held HASH goes down, the available stock does not);
  the other lines need available stock as in orders_place. All or nothing.
  KEYS[1] stock   KEYS[2] order   KEYS[3] user's orders   KEYS[4] user's stats   KEYS[5] pending queue   KEYS[6] held
  KEYS[7] deadlines   KEYS[8..] the reservations, one per reserved line in line order   KEYS[last] events
  ARGV[1..5] as orders_place   ARGV[6..] per line (1 to 100, products different): product id, quantity (> 0),
  reservation id or '-' (at least one line names one; no reservation twice)
  Reply: { created time (ms, server clock) }
  — or ORDER_EXISTS / PRODUCT_NOT_FOUND / RESERVATION_NOT_FOUND / RESERVATION_PRODUCT_MISMATCH /
    RESERVATION_RELEASED / _CONSUMED / _EXPIRED / RESERVATION_QUANTITY_MISMATCH / OUT_OF_STOCK (first failing
    line, 0-based `index`) / STATS_LIMIT_EXCEEDED ]]
local function place_reserved_args(keys, args)
  local count = (#args - 5) / 3
  if count < 1 or count > MAX_LINES or count ~= math.floor(count) then
    invalid('ARGV', '5 values and then a product id, a quantity and a reservation id or - for each of 1 to ' .. MAX_LINES .. ' lines')
  end
  local reserved = 0
  for i = 1, count do
    local reservation = args[5 + 3 * i]
    if reservation ~= '-' then
      id_arg(reservation, 'reservation id')
      reserved = reserved + 1
    end
  end
  if reserved == 0 then invalid('ARGV', 'at least one reservation id (orders_place takes orders without)') end
  keys_ok(keys, 8 + reserved) -- distinct keys: no reservation twice
  return check_order_args(args, count, 3, 3)
end

local function place_reserved(keys, args, total)
  local id, user, events = args[1], args[2], keys[#keys]
  if redis.call('EXISTS', keys[2]) == 1 then
    return fail('ORDER_EXISTS', { message = 'order already exists', orderId = id })
  end
  local now = now_ms()
  local lines, consumed, held, r_key = {}, {}, {}, 7
  for i = 6, #args, 3 do
    local index, product, quantity, reservation = (i - 6) / 3, args[i], tonumber(args[i + 1]), args[i + 2]
    local stock = read_stock(keys[1], product)
    if stock == nil then
      return fail('PRODUCT_NOT_FOUND', { message = 'product not found', index = index, productId = product })
    end
    if reservation ~= '-' then
      r_key = r_key + 1
      local r = read_reservation(keys[r_key])
      if not r then
        return fail('RESERVATION_NOT_FOUND', { message = 'reservation not found', index = index, reservationId = reservation })
      end
      if r.product ~= product then
        return fail('RESERVATION_PRODUCT_MISMATCH', { message = 'the reservation is of another product', index = index,
          reservationId = reservation, productId = product, reservedProductId = r.product })
      end
      local refusal = reservation_refusal(r, reservation, now, { index = index })
      if refusal then return refusal end
      if r.quantity ~= quantity then
        return fail('RESERVATION_QUANTITY_MISMATCH', { message = 'the line must order exactly the units reserved', index = index,
          reservationId = reservation, requested = quantity, reserved = r.quantity })
      end
      held[product] = read_held(keys[6], product)
      if held[product] < quantity then corrupted(keys[6], 'held units of ' .. product .. ' are fewer than a live reservation holds') end
      consumed[#consumed + 1] = { reservation, keys[r_key], r }
      lines[#lines + 1] = { product, quantity, stock, false }
    else
      if stock < quantity then
        return fail('OUT_OF_STOCK', { message = 'not enough stock', index = index, productId = product,
          requested = quantity, available = stock })
      end
      lines[#lines + 1] = { product, quantity, stock - quantity, true }
    end
  end
  local stats = read_stats(keys[4])
  if stats.spent + total > MAX_SAFE then
    return fail('STATS_LIMIT_EXCEEDED', { message = "the user's total spent would exceed the largest safe integer", userId = user })
  end
  check_type(keys[3], 'set')
  check_type(keys[5], 'list')
  check_type(keys[7], 'zset')
  check_type(events, 'stream', 'event log is not a stream')
  -- Writes: every check passed.
  for _, line in ipairs(lines) do
    if line[4] then redis.call('ZINCRBY', keys[1], '-' .. int_text(line[2]), line[1])
    else redis.call('HINCRBY', keys[6], line[1], int_text(-line[2])) end
  end
  redis.call('HSET', keys[2], 'user', user, 'status', 'pending', 'total', args[3], 'created', now, 'items', args[4])
  redis.call('SADD', keys[3], id)
  redis.call('HINCRBY', keys[4], 'totalOrders', 1)
  redis.call('HINCRBY', keys[4], 'totalSpent', args[3])
  redis.call('LPUSH', keys[5], id)
  append_event(events, args[5], 'order.placed', order_event(id, user, total, lines))
  for _, c in ipairs(consumed) do
    redis.call('HSET', c[2], 'status', 'consumed', 'order', id)
    redis.call('ZREM', keys[7], c[1])
    append_event(events, args[5], 'reservation.consumed', reservation_event(c[1], c[3], ',"orderId":"' .. id .. '"'))
  end
  return { now }
end
