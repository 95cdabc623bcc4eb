#!lua name=accounts
--[[
  Accounts ledger: every function is one atomic step on one ledger's hash slot.

  Account   HASH  <prefix>:{<ledger>}:acct:<id>   b = balance, m = floor (minimum balance; negative = overdraft limit)
  History   LIST  <prefix>:{<ledger>}:hist:<id>   newest first, capped; one string per entry:
                  <op id>|<kind>|<server time, ms>|<signed amount>|<counterparty>|<balance after>
                  kinds: o = transfer out, i = transfer in, d = deposit, w = withdrawal
            (A list, not a stream: measured 0.78x the server time per transfer once histories are full, about
             the same while short, and 272 B instead of ~4.4 KB for an account's first entry — README, Benchmarks.)

  Events    STREAM <prefix>:{<ledger>}:events   the shard's event log (transactional outbox): every committed write
                  appends one entry { type, data = JSON } in the same FCALL, capped with XADD MAXLEN ~ <maxlen>.
                  Failures and replays append nothing. Types and data (integers exact, written with %d):
                  account.opened        { account, balance, floor }
                  account.deposited     { id (operation), account, amount, balance (after) }
                  account.withdrawn     { id (operation), account, amount (positive), balance (after) }
                  transfer.completed    { id, from, to, amount, fromBalance, toBalance }   (balances after)
                  transfer.batch_completed { transfers = [ the same object per item, in order ] }

  Amounts and balances are integers in minor units within +-(2^53 - 1): Lua numbers are doubles and are exact
  there. Balances change only through HINCRBY (exact 64-bit integer arithmetic on the server).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule of every function: all reads and checks run before the first write, because Redis never rolls back.
]]

local LIBRARY_VERSION = '5'
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

-- LPUSH to a key of another type would fail after earlier writes: check the keys not written first.
local function check_history(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'list' and kind ~= 'none' then corrupted(key, 'history is not a list') end
end

-- XADD to a key of another type would fail after earlier writes: check the event log before the first write.
local function check_events(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'stream' and kind ~= 'none' then corrupted(key, 'event log is not a stream') end
end

-- The last write of every write function (its key checked by check_events first).
local function append_event(key, maxlen, event_type, data)
  redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'type', event_type, 'data', data)
end

local function transfer_event(id, from, to, amount, from_balance, to_balance)
  return encode({ id = id, from = from, to = to, amount = amount, fromBalance = from_balance, toBalance = to_balance })
end

local function now_ms()
  local time = redis.call('TIME')
  return time[1] .. string.format('%03d', math.floor(tonumber(time[2]) / 1000))
end

-- One history entry (format above; src/accounts/history-codec.ts reads and writes the same).
local function entry(op_id, kind, ms, amount, counterparty, balance)
  return op_id .. '|' .. kind .. '|' .. ms .. '|' .. string.format('%d', amount) .. '|' .. counterparty .. '|' ..
    string.format('%d', balance)
end

-- Prepends entries (oldest first, so the newest ends at the head) and keeps the newest `cap`.
-- On a key of another type the LPUSH fails before writing anything.
local function push(key, cap, entries)
  if redis.call('LPUSH', key, unpack(entries)) > cap then redis.call('LTRIM', key, 0, cap - 1) end
end

--[[ Idempotency — every write function takes two leading ARGV and an optional trailing KEY:
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

--[[ accounts_version  (no-writes)
  Reply: the library version string; the loader compares it with this file. ]]
local function version()
  return LIBRARY_VERSION
end

--[[ accounts_open
  KEYS[1] account   KEYS[2] events
  ARGV[1] opening balance (>= 0)   ARGV[2] floor (<= opening balance)   ARGV[3] account id   ARGV[4] events maxlen
  Reply: { balance, floor }  — or ACCOUNT_EXISTS   (write functions: see Idempotency above) ]]
local function open(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then
    return fail('ACCOUNT_EXISTS', { message = 'account already exists' })
  end
  check_events(keys[2])
  redis.call('HSET', keys[1], 'b', args[1], 'm', args[2])
  append_event(keys[2], args[4], 'account.opened',
    encode({ account = args[3], balance = tonumber(args[1]), floor = tonumber(args[2]) }))
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
  ARGV[1] the entry after which to start ('' = from the newest)   ARGV[2] count
  Reply: up to `count` entries, newest first  — or ACCOUNT_NOT_FOUND
  A cursor entry no longer in the list was trimmed, and so was everything older: the page is empty. ]]
local function history(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  local start = 0
  if args[1] ~= '' then
    local position = redis.call('LPOS', keys[2], args[1])
    if not position then return {} end
    start = position + 1
  end
  return redis.call('LRANGE', keys[2], start, start + tonumber(args[2]) - 1)
end

--[[ accounts_deposit / accounts_withdraw
  KEYS[1] account   KEYS[2] history   KEYS[3] events
  ARGV[1] amount (> 0)   ARGV[2] operation id   ARGV[3] history cap   ARGV[4] account id   ARGV[5] events maxlen
  Reply: { balance after, server time (ms) }  — or ACCOUNT_NOT_FOUND / BALANCE_LIMIT_EXCEEDED / INSUFFICIENT_FUNDS ]]
local function deposit(keys, args)
  local amount = tonumber(args[1])
  local account = read_account(keys[1])
  if not account then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  if account.balance + amount > MAX_SAFE then
    return fail('BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer' })
  end
  check_events(keys[3])
  local ms = now_ms()
  push(keys[2], tonumber(args[3]), { entry(args[2], 'd', ms, amount, '', account.balance + amount) })
  local balance = redis.call('HINCRBY', keys[1], 'b', amount)
  append_event(keys[3], args[5], 'account.deposited',
    encode({ id = args[2], account = args[4], amount = amount, balance = balance }))
  return { balance, ms }
end

local function withdraw(keys, args)
  local amount = tonumber(args[1])
  local account = read_account(keys[1])
  if not account then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  if account.balance - amount < account.floor then
    return fail('INSUFFICIENT_FUNDS', { message = 'balance would fall below the account floor',
      balance = account.balance, floor = account.floor })
  end
  check_events(keys[3])
  local ms = now_ms()
  push(keys[2], tonumber(args[3]), { entry(args[2], 'w', ms, -amount, '', account.balance - amount) })
  local balance = redis.call('HINCRBY', keys[1], 'b', -amount)
  append_event(keys[3], args[5], 'account.withdrawn',
    encode({ id = args[2], account = args[4], amount = amount, balance = balance }))
  return { balance, ms }
end

--[[ accounts_transfer
  KEYS[1] source account   KEYS[2] target account   KEYS[3] source history   KEYS[4] target history   KEYS[5] events
  ARGV[1] amount (> 0)   ARGV[2] request floor ('' = none; the source keeps >= max(own floor, this))
  ARGV[3] transfer id    ARGV[4] history cap   ARGV[5] source id   ARGV[6] target id   ARGV[7] events maxlen
  Reply: { source balance after, target balance after, server time (ms) }
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
  check_history(keys[4]) -- the source history is written first: if it is not a list, that LPUSH fails cleanly
  check_events(keys[5])
  local cap, ms = tonumber(args[4]), now_ms()
  push(keys[3], cap, { entry(args[3], 'o', ms, -amount, args[6], source.balance - amount) })
  push(keys[4], cap, { entry(args[3], 'i', ms, amount, args[5], target.balance + amount) })
  local from_balance = redis.call('HINCRBY', keys[1], 'b', -amount)
  local to_balance = redis.call('HINCRBY', keys[2], 'b', amount)
  append_event(keys[5], args[7], 'transfer.completed', transfer_event(args[3], args[5], args[6], amount, from_balance, to_balance))
  return { from_balance, to_balance, ms }
end

--[[ accounts_transfer_batch — all or nothing, items applied in order (later items see earlier ones)
  KEYS[1..n] the accounts involved   KEYS[n+1..2n] their histories, same order   KEYS[2n+1] events
  ARGV[1] history cap   ARGV[2] n (number of accounts)   ARGV[3] events maxlen   ARGV[4..3+n] the account ids, same order
  then 5 values per transfer: source index, target index (1-based into KEYS), amount, request floor ('' = none), transfer id
  Reply: flat { source balance 1, target balance 1, source balance 2, …, server time (ms) }
  — or an error naming the failing item: { index = 0-based item, … } ]]
local function transfer_batch(keys, args)
  local cap, n = tonumber(args[1]), tonumber(args[2])
  local ids, accounts, balances = {}, {}, {}
  for i = 1, n do
    ids[i] = args[3 + i]
    accounts[i] = read_account(keys[i])
    if accounts[i] then balances[i] = accounts[i].balance end
  end
  -- Simulate the whole batch first: nothing is written unless every item passes.
  local first = 4 + n
  local count = (#args - first + 1) / 5
  local after, entries, ms = {}, {}, nil
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
  for i = 2, n do check_history(keys[n + i]) end -- the first history is written first: it fails cleanly
  check_events(keys[2 * n + 1])
  ms = now_ms()
  for i = 1, n do entries[i] = {} end
  local events = {}
  for item = 0, count - 1 do
    local base = first + item * 5
    local s, t, amount, id = tonumber(args[base]), tonumber(args[base + 1]), tonumber(args[base + 2]), args[base + 4]
    table.insert(entries[s], entry(id, 'o', ms, -amount, ids[t], after[item * 2 + 1]))
    table.insert(entries[t], entry(id, 'i', ms, amount, ids[s], after[item * 2 + 2]))
    events[item + 1] = transfer_event(id, ids[s], ids[t], amount, after[item * 2 + 1], after[item * 2 + 2])
  end
  -- Writes: one LPUSH per account (its entries in order), then one exact HINCRBY per changed account.
  for i = 1, n do push(keys[n + i], cap, entries[i]) end
  for i = 1, n do
    if balances[i] ~= accounts[i].balance then redis.call('HINCRBY', keys[i], 'b', balances[i] - accounts[i].balance) end
  end
  append_event(keys[2 * n + 1], args[3], 'transfer.batch_completed', '{"transfers":[' .. table.concat(events, ',') .. ']}')
  after[#after + 1] = ms
  return after
end

redis.register_function{ function_name = 'accounts_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_history', callback = history, flags = { 'no-writes' } }
redis.register_function('accounts_open', idempotent(open))
redis.register_function('accounts_deposit', idempotent(deposit))
redis.register_function('accounts_withdraw', idempotent(withdraw))
redis.register_function('accounts_transfer', idempotent(transfer))
redis.register_function('accounts_transfer_batch', idempotent(transfer_batch))
