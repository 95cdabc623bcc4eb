--[[ lua/include/account-read.lua — reading an account hash (lua/accounts.lua, lua/escrow.lua). Needs core.lua.

  Account   HASH  b = balance, m = floor (minBalance), dp = pending debits, cp = pending credits (absent = 0)
]]

-- An account's balance, floor, pending debits and pending credits; nil when it does not exist. Data our writes could
-- not apply to (another type, fields that are not safe integers) is refused here, before any write.
local function read_account(key)
  local fields = redis.pcall('HMGET', key, 'b', 'm', 'dp', 'cp')
  if fields.err then corrupted(key, 'account is not a hash') end
  if fields[1] == false then return nil end
  local balance, floor = safe_integer(fields[1]), safe_integer(fields[2])
  local debits, credits = safe_integer(fields[3] or '0'), safe_integer(fields[4] or '0')
  if not balance or not floor or not debits or not credits or debits < 0 or credits < 0 then
    corrupted(key, 'account is not safe integers')
  end
  return balance, floor, debits, credits
end
