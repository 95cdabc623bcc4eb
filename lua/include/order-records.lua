--[[ lua/include/order-records.lua — reading and writing an order's records (lua/orders.lua only; kept apart so
  that no source file grows past ~300 lines). Needs core.lua, args.lua and the STATUSES of lua/orders.lua. ]]

-- { productId, quantity, stock } per line, as JSON (numbers with %d).
local function lines_json(lines)
  local parts = {}
  for i, line in ipairs(lines) do
    parts[i] = '{"productId":' .. cjson.encode(line[1]) .. ',"quantity":' .. int_text(line[2]) .. ',"stock":' .. int_text(line[3]) .. '}'
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

local function order_event(id, user, total, lines)
  return '{"orderId":' .. cjson.encode(id) .. ',"userId":' .. cjson.encode(user) .. ',"total":' ..
    string.format('%d', total) .. ',"items":' .. lines_json(lines) .. '}'
end

-- The order's hash fields { user, status, total, created, items }, checked; nil when there is no such order.
local ORDER_FIELDS = { 'user', 'status', 'total', 'created', 'items' }
local function read_order(key)
  local fields = redis.pcall('HMGET', key, unpack(ORDER_FIELDS))
  if fields.err then corrupted(key, 'key is not a hash') end
  if fields[1] == false then return nil end
  if not STATUSES[fields[2]] or not safe_integer(fields[3]) or not safe_integer(fields[4]) or fields[5] == false then
    corrupted(key, 'order is not in the shape this library writes')
  end
  return fields
end

-- The user's stats as numbers (0 when absent).
local function read_stats(key)
  local fields = redis.pcall('HMGET', key, 'totalOrders', 'totalSpent')
  if fields.err then corrupted(key, 'key is not a hash') end
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

-- A list read (LINDEX, LRANGE) that refuses a key of another type.
local function list_read(key, ...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then corrupted(key, 'key is not a list') end
  return reply
end

-- The ARGV checks orders_place and orders_place_reserved share: the ids, the events cap, the items JSON matching
-- the lines, the total. Line i's product id is ARGV[first + stride * i], its quantity the next value. Returns the total.
local function check_order_args(args, count, first, stride)
  id_arg(args[1], 'order id')
  id_arg(args[2], 'user id')
  local total = int_arg(args[3], 'total', 0, MAX_SAFE)
  int_arg(args[5], 'events maxlen', 1, MAX_SAFE)
  local ok, items = pcall(cjson.decode, args[4])
  if not ok or type(items) ~= 'table' or #items ~= count then invalid('items', 'a JSON array of the lines given') end
  local sum, seen = 0, {}
  for i = 1, count do
    local product = id_arg(args[first + stride * i], 'product id')
    local quantity = int_arg(args[first + 1 + stride * i], 'quantity', 1, MAX_SAFE)
    if seen[product] then invalid('product id', 'different on every line') end
    seen[product] = true
    local item = items[i]
    if type(item) ~= 'table' or item.productId ~= product or item.quantity ~= quantity or not is_count(item.unitPrice, 0) then
      invalid('items', 'the lines { productId, quantity, unitPrice } of the product ids and quantities given')
    end
    sum = sum + quantity * item.unitPrice
    if sum > MAX_SAFE then invalid('total', 'at most 2^53 - 1') end
  end
  if sum ~= total then invalid('total', 'the sum of quantity x unit price of the items') end
  return total
end
