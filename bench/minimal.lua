#!lua name=bench_minimal
--[[
  Bench-only library (loaded on the bench's private server, never by the app).

  bench_minimal_transfer is the floor accounts_transfer is compared with: the least a transfer can do.
  The bench_step_* functions are an ablation ladder from that floor up to accounts_transfer, each adding one
  feature, so that commandstats' usec_per_call says what each feature costs. They take exactly the KEYS and
  ARGV of accounts_transfer (lua/accounts.lua) and skip its error paths (the bench never triggers them).
]]

--[[ bench_minimal_transfer
  KEYS[1] source balance (string)   KEYS[2] target balance (string)
  ARGV[1] amount
  Reply: { source balance after, target balance after } — or error INSUFFICIENT_FUNDS ]]
local function minimal_transfer(keys, args)
  local amount = tonumber(args[1])
  local balance = tonumber(redis.call('GET', keys[1]))
  if balance == nil or balance < amount then return redis.error_reply('INSUFFICIENT_FUNDS') end
  return { redis.call('DECRBY', keys[1], amount), redis.call('INCRBY', keys[2], amount) }
end

-- Step 1: account hashes (HMGET b m, floor check, HINCRBY) instead of strings; no history.
local function hashes(keys, args)
  local amount = tonumber(args[1])
  local source = redis.call('HMGET', keys[1], 'b', 'm')
  local target = redis.call('HMGET', keys[2], 'b', 'm')
  if source[1] == false or target[1] == false then return redis.error_reply('ACCOUNT_NOT_FOUND') end
  if tonumber(source[1]) - amount < tonumber(source[2]) then return redis.error_reply('INSUFFICIENT_FUNDS') end
  return { redis.call('HINCRBY', keys[1], 'b', -amount), redis.call('HINCRBY', keys[2], 'b', amount) }
end

-- Step 2: + TYPE checks of both history keys.
local function typed(keys, args)
  for _, key in ipairs({ keys[3], keys[4] }) do
    local kind = redis.call('TYPE', key).ok
    if kind ~= 'stream' and kind ~= 'none' then return redis.error_reply('STORE_CORRUPTED') end
  end
  return hashes(keys, args)
end

local function with_history(trim)
  return function(keys, args)
    local balances = typed(keys, args)
    if balances.err then return balances end
    local fields = { 't', args[3], 'k', 'transfer_out', 'a', -tonumber(args[1]), 'c', args[6], 'b', balances[1] }
    local at
    if trim == 'none' then
      at = redis.call('XADD', keys[3], '*', unpack(fields))
    elseif trim == 'approx' then
      at = redis.call('XADD', keys[3], 'MAXLEN', '~', args[4], '*', unpack(fields))
    else
      at = redis.call('XADD', keys[3], 'MAXLEN', args[4], '*', unpack(fields))
    end
    fields[4], fields[6], fields[8], fields[10] = 'transfer_in', args[1], args[5], balances[2]
    if trim == 'none' then
      redis.call('XADD', keys[4], '*', unpack(fields))
    elseif trim == 'approx' then
      redis.call('XADD', keys[4], 'MAXLEN', '~', args[4], '*', unpack(fields))
    else
      redis.call('XADD', keys[4], 'MAXLEN', args[4], '*', unpack(fields))
    end
    return { balances[1], balances[2], at }
  end
end

redis.register_function('bench_minimal_transfer', minimal_transfer)
redis.register_function('bench_step_hashes', hashes)
redis.register_function('bench_step_types', typed)
-- Step 3: + two history entries (XADD) without a cap.
redis.register_function('bench_step_xadd', with_history('none'))
-- Step 4: + the cap, approximate (MAXLEN ~: trims whole listpack nodes only).
redis.register_function('bench_step_xadd_approx', with_history('approx'))
-- Step 5: + the cap, exact (MAXLEN =, as accounts_transfer does): a trim on every XADD once the cap is reached.
redis.register_function('bench_step_xadd_exact', with_history('exact'))
