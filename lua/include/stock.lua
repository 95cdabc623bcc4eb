--[[ lua/include/stock.lua — a shop's stock (lua/inventory.lua and lua/orders.lua).
  Stock   ZSET  {<shop>}:inventory:stock   member = product id, score = stock in [0, 2^53): a double, exact there. ]]

-- A product's stock; nil when the product does not exist. A score that is not a stock, or a key that is not a
-- sorted set, is refused before any write.
local function read_stock(key, product)
  local score = redis.pcall('ZSCORE', key, product)
  if type(score) == 'table' then corrupted(key, 'key is not a zset') end
  if score == false then return nil end
  local stock = safe_integer(score)
  if not stock or stock < 0 then corrupted(key, 'stock of ' .. product .. ' is ' .. score .. ', not an integer in [0, 2^53)') end
  return stock
end

--[[ Stock reservations (lua/inventory.lua holds and releases them, lua/orders.lua consumes them in orders_place_reserved).
  Stock       ZSET  {<shop>}:inventory:stock        the score is the AVAILABLE stock: units for sale, held ones not included
  Held        HASH  {<shop>}:inventory:held         field = product id, value = units held by live reservations
  Deadlines   ZSET  {<shop>}:inventory:deadlines    member = reservation id, score = expiry (ms, server clock) — held ones
  Reservation HASH  {<shop>}:reservation:<id>       product, quantity, status, created (ms), expires (ms), order ('-' or id)
  Status: held → released | consumed | expired. A held reservation whose expiry has passed is expired for every
  operation that touches it (refused as RESERVATION_EXPIRED, shown as expired); its units come back to the stock
  when the sweeper (inventory_expire_due) expires it. ]]
local RESERVATION_FIELDS = { 'product', 'quantity', 'status', 'created', 'expires', 'order' }
local RESERVATION_STATUSES = { held = true, released = true, consumed = true, expired = true }

-- The server clock in ms (TIME may precede writes: effects replication).
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end

-- A reservation's fields, checked; nil when there is none.
local function read_reservation(key)
  local f = redis.pcall('HMGET', key, unpack(RESERVATION_FIELDS))
  if f.err then corrupted(key, 'key is not a hash') end
  if f[1] == false then return nil end
  local quantity, created, expires = safe_integer(f[2]), safe_integer(f[4]), safe_integer(f[5])
  if not quantity or quantity < 1 or not RESERVATION_STATUSES[f[3]] or not created or not expires or not f[6] then
    corrupted(key, 'reservation is not in the shape this library writes')
  end
  return { product = f[1], quantity = quantity, status = f[3], created = created, expires = expires, order = f[6] }
end

-- Units held of a product (0 when none).
local function read_held(key, product)
  local value = redis.pcall('HGET', key, product)
  if type(value) == 'table' then corrupted(key, 'key is not a hash') end
  if value == false then return 0 end
  local held = safe_integer(value)
  if not held or held < 0 then corrupted(key, 'held units of ' .. product .. ' are ' .. value .. ', not an integer in [0, 2^53)') end
  return held
end

-- The status as callers see it: a held reservation past its expiry is expired.
local function seen_status(r, now)
  if r.status == 'held' and now >= r.expires then return 'expired' end
  return r.status
end

-- The refusal of using a reservation that is no longer held (RESERVATION_RELEASED / _CONSUMED / _EXPIRED), or nil.
local function reservation_refusal(r, id, now, details)
  local status = seen_status(r, now)
  if status == 'held' then return nil end
  details = details or {}
  details.message = 'the reservation is ' .. status
  details.reservationId = id
  details.status = status
  return fail('RESERVATION_' .. string.upper(status), details)
end

-- A reservation as reply values: { product, quantity, status (as seen now), created, expires, order ('-' or id) }.
local function reservation_reply(r, now)
  return { r.product, r.quantity, seen_status(r, now), r.created, r.expires, r.order }
end

local function reservation_event(id, r, extra)
  return '{"reservationId":"' .. id .. '","productId":"' .. r.product .. '","quantity":' .. int_text(r.quantity) .. extra .. '}'
end
