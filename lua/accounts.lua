#!lua name=accounts
--[[
  Accounts ledger: every function is one atomic step on one ledger's hash slot.

  Account   HASH   {<ledger>}:acct:<id>   b = balance, m = floor (minimum balance; negative = overdraft limit)
  History   STREAM {<ledger>}:hist:<id>   t = operation id, k = kind, a = signed amount, c = counterparty, b = balance after
            capped with an exact MAXLEN; the entry id's milliseconds are the server time of the operation.

  Amounts and balances are integers in minor units within +-(2^53 - 1): Lua numbers are doubles and are exact
  there. Balances change only through HINCRBY (exact 64-bit integer arithmetic on the server).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule of every function: all reads and checks run before the first write, because Redis never rolls back.
]]

local LIBRARY_VERSION = '2'
local MAX_SAFE = 9007199254740991

-- `CODE {json}`. Numbers are written with %d: cjson keeps only 14 significant digits, balances need 16.
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

-- An integer exactly as HINCRBY reads one ('0' or -?[1-9][0-9]*) and within ±MAX_SAFE; nil otherwise.
-- tonumber alone would accept '1e3', '007', ' 5' or '0x10', which HINCRBY refuses after earlier writes.
local function safe_integer(text)
  if not text or #text > 17 or not (text == '0' or string.match(text, '^%-?[1-9]%d*$')) then return nil end
  local n = tonumber(text)
  if n > MAX_SAFE or n < -MAX_SAFE then return nil end
  return n
end

-- Reads an account hash; nil when the account does not exist. Data our writes could not apply to is
-- refused here, before any write.
local function read_account(key)
  local fields = redis.call('HMGET', key, 'b', 'm')
  if fields[1] == false then return nil end
  local balance, floor = safe_integer(fields[1]), safe_integer(fields[2])
  if not balance or not floor then corrupted(key, 'account is not two safe integers') end
  return { balance = balance, floor = floor }
end

-- XADD to a key of another type would fail after earlier writes: check first.
local function check_history(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'stream' and kind ~= 'none' then corrupted(key, 'history is not a stream') end
end

local function record(history_key, cap, op_id, kind, amount, counterparty, balance)
  return redis.call('XADD', history_key, 'MAXLEN', cap, '*',
    't', op_id, 'k', kind, 'a', amount, 'c', counterparty, 'b', balance)
end

--[[ accounts_version  (no-writes)
  Reply: the library version string; the loader compares it with this file. ]]
local function version()
  return LIBRARY_VERSION
end

--[[ accounts_open
  KEYS[1] account
  ARGV[1] opening balance (>= 0)   ARGV[2] floor (<= opening balance)
  Reply: { balance, floor }  — or ACCOUNT_EXISTS ]]
local function open(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return fail('ACCOUNT_EXISTS', { message = 'account already exists' })
  end
  redis.call('HSET', keys[1], 'b', args[1], 'm', args[2])
  return { tonumber(args[1]), tonumber(args[2]) }
end

--[[ accounts_get  (no-writes)
  KEYS[1] account
  Reply: { balance, floor }  — or ACCOUNT_NOT_FOUND ]]
local function get(keys)
  local account = read_account(keys[1])
  if not account then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  return { account.balance, account.floor }
end

--[[ accounts_history  (no-writes)
  KEYS[1] account   KEYS[2] history
  ARGV[1] newest entry id to return ('+' for the newest, or '(<id>' to start below a cursor)   ARGV[2] count
  Reply: XREVRANGE's reply (flat: { { id, { field, value, … } }, … })  — or ACCOUNT_NOT_FOUND ]]
local function history(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  return redis.call('XREVRANGE', keys[2], args[1], '-', 'COUNT', args[2])
end

--[[ accounts_deposit / accounts_withdraw
  KEYS[1] account   KEYS[2] history
  ARGV[1] amount (> 0)   ARGV[2] operation id   ARGV[3] history cap
  Reply: { balance after, history entry id }  — or ACCOUNT_NOT_FOUND / BALANCE_LIMIT_EXCEEDED / INSUFFICIENT_FUNDS ]]
local function deposit(keys, args)
  local amount = tonumber(args[1])
  local account = read_account(keys[1])
  if not account then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  if account.balance + amount > MAX_SAFE then
    return fail('BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer' })
  end
  check_history(keys[2])
  local balance = redis.call('HINCRBY', keys[1], 'b', amount)
  local at = record(keys[2], args[3], args[2], 'deposit', amount, '', balance)
  return { balance, at }
end

local function withdraw(keys, args)
  local amount = tonumber(args[1])
  local account = read_account(keys[1])
  if not account then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  if account.balance - amount < account.floor then
    return fail('INSUFFICIENT_FUNDS', { message = 'balance would fall below the account floor',
      balance = account.balance, floor = account.floor })
  end
  check_history(keys[2])
  local balance = redis.call('HINCRBY', keys[1], 'b', -amount)
  local at = record(keys[2], args[3], args[2], 'withdrawal', -amount, '', balance)
  return { balance, at }
end

--[[ accounts_transfer
  KEYS[1] source account   KEYS[2] target account   KEYS[3] source history   KEYS[4] target history
  ARGV[1] amount (> 0)   ARGV[2] request floor ('' = none; the source keeps >= max(own floor, this))
  ARGV[3] transfer id    ARGV[4] history cap   ARGV[5] source id   ARGV[6] target id
  Reply: { source balance after, target balance after, history entry id }
  — or ACCOUNT_NOT_FOUND / INSUFFICIENT_FUNDS / BALANCE_LIMIT_EXCEEDED ]]
local function transfer(keys, args)
  local amount = tonumber(args[1])
  local source = read_account(keys[1])
  if not source then return fail('ACCOUNT_NOT_FOUND', { message = 'source account not found', account = args[5] }) end
  local target = read_account(keys[2])
  if not target then return fail('ACCOUNT_NOT_FOUND', { message = 'target account not found', account = args[6] }) end
  local floor = source.floor
  if args[2] ~= '' and tonumber(args[2]) > floor then floor = tonumber(args[2]) end
  if source.balance - amount < floor then
    return fail('INSUFFICIENT_FUNDS', { message = 'balance would fall below the floor', account = args[5],
      balance = source.balance, floor = floor })
  end
  if target.balance + amount > MAX_SAFE then
    return fail('BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer', account = args[6] })
  end
  check_history(keys[3])
  check_history(keys[4])
  local source_balance = redis.call('HINCRBY', keys[1], 'b', -amount)
  local target_balance = redis.call('HINCRBY', keys[2], 'b', amount)
  local at = record(keys[3], args[4], args[3], 'transfer_out', -amount, args[6], source_balance)
  record(keys[4], args[4], args[3], 'transfer_in', amount, args[5], target_balance)
  return { source_balance, target_balance, at }
end

--[[ accounts_transfer_batch — all or nothing, items applied in order (later items see earlier ones)
  KEYS[1..n] the accounts involved   KEYS[n+1..2n] their histories, same order
  ARGV[1] history cap   ARGV[2] n (number of accounts)   ARGV[3..2+n] the account ids, same order
  then 5 values per transfer: source index, target index (1-based into KEYS), amount, request floor ('' = none), transfer id
  Reply: flat { source balance 1, target balance 1, source balance 2, …, history entry id }
  — or an error naming the failing item: { index = 0-based item, … } ]]
local function transfer_batch(keys, args)
  local cap, n = args[1], tonumber(args[2])
  local ids, accounts = {}, {}
  for i = 1, n do
    ids[i] = args[2 + i]
    accounts[i] = read_account(keys[i])
  end
  -- Simulate the whole batch first: nothing is written unless every item passes.
  local balances, after = {}, {}
  for i = 1, n do if accounts[i] then balances[i] = accounts[i].balance end end
  local first = 3 + n
  local count = (#args - first + 1) / 5
  for item = 0, count - 1 do
    local base = first + item * 5
    local s, t, amount = tonumber(args[base]), tonumber(args[base + 1]), tonumber(args[base + 2])
    if not accounts[s] then
      return fail('ACCOUNT_NOT_FOUND', { message = 'source account not found', index = item, account = ids[s] })
    end
    if not accounts[t] then
      return fail('ACCOUNT_NOT_FOUND', { message = 'target account not found', index = item, account = ids[t] })
    end
    local floor = accounts[s].floor
    if args[base + 3] ~= '' and tonumber(args[base + 3]) > floor then floor = tonumber(args[base + 3]) end
    if balances[s] - amount < floor then
      return fail('INSUFFICIENT_FUNDS', { message = 'balance would fall below the floor', index = item,
        account = ids[s], balance = balances[s], floor = floor })
    end
    if balances[t] + amount > MAX_SAFE then
      return fail('BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer',
        index = item, account = ids[t] })
    end
    balances[s] = balances[s] - amount
    balances[t] = balances[t] + amount
    after[#after + 1] = balances[s]
    after[#after + 1] = balances[t]
  end
  for i = 1, n do check_history(keys[n + i]) end
  -- Writes: one exact HINCRBY per changed account, then the history entries in item order.
  for i = 1, n do
    if accounts[i] and balances[i] ~= accounts[i].balance then
      redis.call('HINCRBY', keys[i], 'b', balances[i] - accounts[i].balance)
    end
  end
  local at
  for item = 0, count - 1 do
    local base = first + item * 5
    local s, t, amount, id = tonumber(args[base]), tonumber(args[base + 1]), args[base + 2], args[base + 4]
    local entry = record(keys[n + s], cap, id, 'transfer_out', '-' .. amount, ids[t], after[item * 2 + 1])
    record(keys[n + t], cap, id, 'transfer_in', amount, ids[s], after[item * 2 + 2])
    at = at or entry
  end
  after[#after + 1] = at
  return after
end

redis.register_function{ function_name = 'accounts_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_history', callback = history, flags = { 'no-writes' } }
redis.register_function('accounts_open', open)
redis.register_function('accounts_deposit', deposit)
redis.register_function('accounts_withdraw', withdraw)
redis.register_function('accounts_transfer', transfer)
redis.register_function('accounts_transfer_batch', transfer_batch)
