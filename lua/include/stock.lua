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
