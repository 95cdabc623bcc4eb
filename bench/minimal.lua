#!lua name=bench_minimal
--[[
  Bench-only library (loaded on the bench's private server, never by the app).

  bench_minimal_transfer is the floor accounts_transfer is compared with: the least a transfer can do.
  The bench_step_* functions are an ablation ladder from that floor up to accounts_transfer, each adding one
  feature, so that commandstats' usec_per_call says what each feature costs:
    minimal (strings) → hashes → + TYPE check of the target history → + TIME → + 2 LPUSH, no cap
    → + the cap (LTRIM when over it) → accounts_transfer itself (lua/accounts.lua; not copied here), which
    from library version 4 adds its idempotency wrapper (no key: an ARGV shift and a reply insert).
  bench_streams_* are the previous history design (a capped STREAM per account, 5 fields per entry) for a
  before/after comparison in the same run: bench_streams_exact is the previous accounts_transfer verbatim
  (TYPE of both histories, 2 HINCRBY, 2 XADD MAXLEN = cap), bench_streams_approx the same with MAXLEN ~.
  All take exactly the KEYS and ARGV of accounts_transfer and keep its checks, but answer its error paths
  with bare codes (the bench never triggers them).

  The helpers below are copies of lua/accounts.lua (library version 4); bench/scenarios/floors.ts adds a
  WARNING row when the verbatim ones (safe_integer, now_ms) no longer match the assembled lua/accounts.lua
  (its prelude, lua/include/core.lua, included).
  From library version 4 on, accounts_* write functions take two idempotency ARGV first (fingerprint, TTL);
  the bench passes them ('' = no key) to accounts_transfer only; these functions take the ARGV after them.
]]

local MAX_SAFE = 9007199254740991

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

-- Copies of lua/accounts.lua (version above).
local function safe_integer(text)
  if type(text) ~= 'string' or #text > 17 or not (text == '0' or string.match(text, '^%-?[1-9]%d*$')) then return nil end
  local n = tonumber(text)
  if n > MAX_SAFE or n < -MAX_SAFE then return nil end
  return n
end

local function read_account(key)
  local fields = redis.call('HMGET', key, 'b', 'm')
  if fields[1] == false then return nil end
  local balance, floor = safe_integer(fields[1]), safe_integer(fields[2])
  if not balance or not floor then error({ err = 'STORE_CORRUPTED' }) end
  return { balance = balance, floor = floor }
end

local function check_history(key, expected)
  local kind = redis.call('TYPE', key).ok
  if kind ~= expected and kind ~= 'none' then error({ err = 'STORE_CORRUPTED' }) end
end

local function now_ms()
  local time = redis.call('TIME')
  return time[1] .. string.format('%03d', math.floor(tonumber(time[2]) / 1000))
end

local function entry(op_id, kind, ms, amount, counterparty, balance)
  return op_id .. '|' .. kind .. '|' .. ms .. '|' .. string.format('%d', amount) .. '|' .. counterparty .. '|' ..
    string.format('%d', balance)
end

-- The reads and checks of accounts_transfer: amount, source, target — or nil and an error reply.
local function checked(keys, args)
  local amount = tonumber(args[1])
  local source = read_account(keys[1])
  if not source then return nil, redis.error_reply('ACCOUNT_NOT_FOUND') end
  local target = read_account(keys[2])
  if not target then return nil, redis.error_reply('ACCOUNT_NOT_FOUND') end
  local floor = source.floor
  if args[2] ~= '' and tonumber(args[2]) > floor then floor = tonumber(args[2]) end
  if source.balance - amount < floor then return nil, redis.error_reply('INSUFFICIENT_FUNDS') end
  if target.balance + amount > MAX_SAFE then return nil, redis.error_reply('BALANCE_LIMIT_EXCEEDED') end
  return amount, source, target
end

-- Step 1: account hashes (2 HMGET, read and checked as accounts_transfer does, 2 HINCRBY); no history.
local function hashes(keys, args)
  local amount, failure = checked(keys, args)
  if not amount then return failure end
  return { redis.call('HINCRBY', keys[1], 'b', -amount), redis.call('HINCRBY', keys[2], 'b', amount) }
end

local function push(key, cap, entries)
  if redis.call('LPUSH', key, unpack(entries)) > cap then redis.call('LTRIM', key, 0, cap - 1) end
end

-- The ladder above step 1, cumulative: 'type' (TYPE check of the target history), 'time' (+ TIME),
-- 'lpush' (+ one history entry on each side, uncapped), 'cap' (+ LTRIM when over the cap: accounts_transfer
-- as of library version 3, before the idempotency wrapper of version 4).
local function ladder_step(level)
  return function(keys, args)
    local amount, source, target = checked(keys, args)
    if not amount then return source end
    check_history(keys[4], 'list')
    local ms = ''
    if level ~= 'type' then ms = now_ms() end
    if level == 'lpush' then
      redis.call('LPUSH', keys[3], entry(args[3], 'o', ms, -amount, args[6], source.balance - amount))
      redis.call('LPUSH', keys[4], entry(args[3], 'i', ms, amount, args[5], target.balance + amount))
    elseif level == 'cap' then
      local cap = tonumber(args[4])
      push(keys[3], cap, { entry(args[3], 'o', ms, -amount, args[6], source.balance - amount) })
      push(keys[4], cap, { entry(args[3], 'i', ms, amount, args[5], target.balance + amount) })
    end
    return { redis.call('HINCRBY', keys[1], 'b', -amount), redis.call('HINCRBY', keys[2], 'b', amount), ms }
  end
end

-- The previous design: history as a STREAM per account, capped by XADD MAXLEN (exact: '=' ; approximate: '~').
local function streams(trim)
  local function record(key, cap, op_id, kind, amount, counterparty, balance)
    if trim == '~' then
      return redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 't', op_id, 'k', kind, 'a', amount, 'c', counterparty, 'b', balance)
    end
    return redis.call('XADD', key, 'MAXLEN', cap, '*', 't', op_id, 'k', kind, 'a', amount, 'c', counterparty, 'b', balance)
  end
  return function(keys, args)
    local amount, failure = checked(keys, args)
    if not amount then return failure end
    check_history(keys[3], 'stream')
    check_history(keys[4], 'stream')
    local source_balance = redis.call('HINCRBY', keys[1], 'b', -amount)
    local target_balance = redis.call('HINCRBY', keys[2], 'b', amount)
    local at = record(keys[3], args[4], args[3], 'transfer_out', -amount, args[6], source_balance)
    record(keys[4], args[4], args[3], 'transfer_in', amount, args[5], target_balance)
    return { source_balance, target_balance, at }
  end
end

redis.register_function('bench_minimal_transfer', minimal_transfer)
redis.register_function('bench_step_hashes', hashes)
-- Step 2: + TYPE check of the target history (the source history's LPUSH comes first and fails cleanly).
redis.register_function('bench_step_type', ladder_step('type'))
-- Step 3: + TIME, once (the server clock of both entries).
redis.register_function('bench_step_time', ladder_step('time'))
-- Step 4: + 2 LPUSH (one entry string on each history), no cap.
redis.register_function('bench_step_lpush', ladder_step('lpush'))
-- Step 5: + the cap (LTRIM when over it). The last step is accounts_transfer itself (+ its idempotency wrapper).
redis.register_function('bench_step_cap', ladder_step('cap'))
-- Before/after: the previous accounts_transfer (streams, exact cap) and its MAXLEN ~ variant.
redis.register_function('bench_streams_exact', streams('='))
redis.register_function('bench_streams_approx', streams('~'))
