#!lua name=accounts
--[[
  Accounts ledger: every function is one atomic step on one ledger's hash slot.

  Account   HASH  <prefix>:{<ledger>}:acct:<id>   b = balance, m = floor (minimum balance; negative = overdraft limit),
                  dp = pending debits, cp = pending credits (absent = 0; two-phase transfers, lua/include/accounts-pending.lua)
                  available = b - dp stays >= the floor; b + cp stays <= 2^53 - 1
  History   LIST  <prefix>:{<ledger>}:hist:<id>   newest first, capped; one string per entry:
                  <op id>|<kind>|<server time, ms>|<signed amount>|<counterparty>|<balance after>
                  kinds: o = transfer out, i = transfer in, d = deposit, w = withdrawal; pending transfers:
                  ho / hi reserved, po / pi posted, vo / vi voided, xo / xi expired (balance after = unchanged
                  except po / pi; the amount of a release is the reservation's, reversed)
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
                  transfer.pending      { id, from, to, amount, expiresAt (server ms) }  (in a batch: + pending = true)
                  transfer.posted       { id, from, to, amount (posted), released, fromBalance, toBalance }
                  transfer.voided · transfer.expired { id, from, to, amount (released) }

  Amounts and balances are integers in minor units within +-(2^53 - 1): Lua numbers are doubles and are exact
  there. Balances change only through HINCRBY (exact 64-bit integer arithmetic on the server).
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule of every function: KEYS and ARGV are validated first (INVALID_ARGUMENT, lua/include/args.lua), then all
  reads and checks run, then the writes — because Redis never rolls back.
  Assembled at load time with the prelude below (libs/redis-atomic/src/redis/lua-source.ts); the version is a
  hash of the assembled source.
]]


local LIBRARY_VERSION = '{{version}}'

--- @include core
--- @include args
--- @include idempotency

--- @include account-read

local function now_ms()
  local time = redis.call('TIME')
  return time[1] .. string.format('%03d', math.floor(tonumber(time[2]) / 1000))
end

-- Prepends entries (oldest first, so the newest ends at the head) and keeps the newest `cap`. The first write of
-- a function passes first = true: its LPUSH on a key of another type fails before anything was written, and is
-- answered as STORE_CORRUPTED; every other history key is TYPE-checked before that first write.
local function push(key, cap, first, ...)
  local length
  if first then
    length = redis.pcall('LPUSH', key, ...)
    if type(length) == 'table' then corrupted(key, 'history is not a list') end
  else
    length = redis.call('LPUSH', key, ...)
  end
  if length > cap then redis.call('LTRIM', key, 0, cap - 1) end
end

-- transfer.completed's data; every value is an allowlisted id or canonical integer text.
local function transfer_event(id, from, to, amount, from_balance, to_balance)
  return '{"id":"' .. id .. '","from":"' .. from .. '","to":"' .. to .. '","amount":' .. amount .. ',"fromBalance":' ..
    from_balance .. ',"toBalance":' .. to_balance .. '}'
end

--[[ accounts_version  (no-writes)
  Reply: the library version (a hash of the assembled source); the loader compares it with its own build. ]]
local function version(keys, args)
  if #keys > 0 then invalid('KEYS', 'none here') end
  arity(args, 0)
  return LIBRARY_VERSION
end

--[[ accounts_open
  KEYS[1] account   KEYS[2] events
  ARGV[1] opening balance (>= 0)   ARGV[2] floor (<= opening balance)   ARGV[3] account id   ARGV[4] events maxlen (>= 1)
  Reply: { balance, floor }  — or ACCOUNT_EXISTS   (write functions: see Idempotency above) ]]
local function open_args(keys, args)
  keys_ok(keys, 2)
  arity(args, 4)
  local balance = int_arg(args[1], 'balance', 0, MAX_SAFE)
  local floor = int_arg(args[2], 'floor', -MAX_SAFE, balance)
  id_arg(args[3], 'account id')
  int_arg(args[4], 'events maxlen', 1, MAX_SAFE)
  return balance, floor
end

local function open(keys, args, balance, floor)
  if redis.call('EXISTS', keys[1]) == 1 then
    return fail('ACCOUNT_EXISTS', { message = 'account already exists' })
  end
  check_type(keys[2], 'stream', 'event log is not a stream')
  redis.call('HSET', keys[1], 'b', args[1], 'm', args[2])
  append_event(keys[2], args[4], 'account.opened',
    '{"account":"' .. args[3] .. '","balance":' .. args[1] .. ',"floor":' .. args[2] .. '}')
  return { balance, floor }
end

--[[ accounts_get  (no-writes)
  KEYS[1] account
  Reply: { balance, floor, pending debits, pending credits }  — or ACCOUNT_NOT_FOUND ]]
local function get(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  local balance, floor, debits, credits = read_account(keys[1])
  if not balance then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  return { balance, floor, debits, credits }
end

--[[ accounts_history  (no-writes)
  KEYS[1] account   KEYS[2] history
  ARGV[1] the entry after which to start ('' = from the newest; at most 300 characters)   ARGV[2] count (1 to 100000)
  Reply: up to `count` entries, newest first  — or ACCOUNT_NOT_FOUND
  A cursor entry no longer in the list was trimmed, and so was everything older: the page is empty. ]]
local function history(keys, args)
  keys_ok(keys, 2)
  arity(args, 2)
  if #args[1] > 300 then invalid('cursor', 'a history entry of at most 300 characters') end
  local count = int_arg(args[2], 'count', 1, 100000)
  if redis.call('EXISTS', keys[1]) == 0 then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
  local start = 0
  if args[1] ~= '' then
    local position = redis.pcall('LPOS', keys[2], args[1])
    if type(position) == 'table' then corrupted(keys[2], 'history holds another type than a list') end
    if not position then return {} end
    start = position + 1
  end
  local page = redis.pcall('LRANGE', keys[2], start, start + count - 1)
  if page.err then corrupted(keys[2], 'history holds another type than a list') end
  return page
end

--[[ accounts_deposit / accounts_withdraw
  KEYS[1] account   KEYS[2] history   KEYS[3] events
  ARGV[1] amount (> 0)   ARGV[2] operation id   ARGV[3] history cap (>= 1)   ARGV[4] account id   ARGV[5] events maxlen (>= 1)
  Reply: { balance after, server time (ms) }  — or ACCOUNT_NOT_FOUND / BALANCE_LIMIT_EXCEEDED / INSUFFICIENT_FUNDS ]]
local function movement_args(keys, args)
  keys_ok(keys, 3)
  arity(args, 5)
  local amount = int_arg(args[1], 'amount', 1, MAX_SAFE)
  id_arg(args[2], 'operation id')
  local cap = int_arg(args[3], 'history cap', 1, MAX_SAFE)
  id_arg(args[4], 'account id')
  int_arg(args[5], 'events maxlen', 1, MAX_SAFE)
  return amount, cap
end

local function movement(kind, event_type)
  return function(keys, args, amount, cap)
    local balance, floor, debits, credits = read_account(keys[1])
    if not balance then return fail('ACCOUNT_NOT_FOUND', { message = 'account not found' }) end
    local after
    if kind == 'd' then
      after = balance + amount
      if after + credits > MAX_SAFE then
        return fail('BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer' })
      end
    else
      after = balance - amount
      if after - debits < floor then
        return fail('INSUFFICIENT_FUNDS', { message = 'balance would fall below the account floor',
          balance = balance, available = balance - debits, floor = floor })
      end
    end
    check_type(keys[3], 'stream', 'event log is not a stream')
    local ms, text = now_ms(), int_text(after)
    push(keys[2], cap, true, args[2] .. '|' .. kind .. '|' .. ms .. (kind == 'd' and '|' or '|-') .. args[1] .. '||' .. text)
    redis.call('HINCRBY', keys[1], 'b', kind == 'd' and args[1] or ('-' .. args[1]))
    append_event(keys[3], args[5], event_type,
      '{"id":"' .. args[2] .. '","account":"' .. args[4] .. '","amount":' .. args[1] .. ',"balance":' .. text .. '}')
    return { after, ms }
  end
end

--[[ accounts_transfer
  KEYS[1] source account   KEYS[2] target account   KEYS[3] source history   KEYS[4] target history   KEYS[5] events
  ARGV[1] amount (> 0)   ARGV[2] request floor ('' = none; the source keeps >= max(own floor, this))
  ARGV[3] transfer id    ARGV[4] history cap (>= 1)   ARGV[5] source id   ARGV[6] target id   ARGV[7] events maxlen (>= 1)
  Reply: { source balance after, target balance after, server time (ms) }
  — or ACCOUNT_NOT_FOUND / INSUFFICIENT_FUNDS / BALANCE_LIMIT_EXCEEDED ]]
local function transfer_args(keys, args)
  keys_ok(keys, 5)
  arity(args, 7)
  local amount = int_arg(args[1], 'amount', 1, MAX_SAFE)
  local floor = optional_int_arg(args[2], 'floor', -MAX_SAFE, MAX_SAFE)
  id_arg(args[3], 'transfer id')
  local cap = int_arg(args[4], 'history cap', 1, MAX_SAFE)
  id_arg(args[5], 'source id')
  id_arg(args[6], 'target id')
  int_arg(args[7], 'events maxlen', 1, MAX_SAFE)
  return amount, floor, cap
end

-- The checks of one transfer (plain or pending) on read accounts, in the order of ledger-rules.ts planTransfers;
-- returns the failure reply, or nil. `at` adds the batch index to the details.
local function refuse_transfer(from, floor, from_debits, to, to_credits, amount, request_floor, pending, from_id, to_id, at)
  local function details(t)
    if at then t.index = at end
    return t
  end
  if request_floor and request_floor > floor then floor = request_floor end
  if from - from_debits - amount < floor then
    return fail('INSUFFICIENT_FUNDS', details({ message = 'balance would fall below the floor', account = from_id,
      balance = from, available = from - from_debits, floor = floor }))
  end
  if to + to_credits + amount > MAX_SAFE or (pending and to_credits + amount > MAX_SAFE) then
    return fail('BALANCE_LIMIT_EXCEEDED', details({ message = 'balance would exceed the largest safe integer', account = to_id }))
  end
  if pending and from_debits + amount > MAX_SAFE then
    return fail('BALANCE_LIMIT_EXCEEDED', details({ message = 'pending debits would exceed the largest safe integer',
      account = from_id }))
  end
  return nil
end

local function transfer(keys, args, amount, request_floor, cap)
  local from, floor, from_debits = read_account(keys[1])
  if not from then return fail('ACCOUNT_NOT_FOUND', { message = 'source account not found', account = args[5] }) end
  local to, _, _, to_credits = read_account(keys[2])
  if not to then return fail('ACCOUNT_NOT_FOUND', { message = 'target account not found', account = args[6] }) end
  local refused = refuse_transfer(from, floor, from_debits, to, to_credits, amount, request_floor, false, args[5], args[6])
  if refused then return refused end
  local from_after, to_after = from - amount, to + amount
  check_type(keys[4], 'list', 'history is not a list') -- the source history's LPUSH is the first write
  check_type(keys[5], 'stream', 'event log is not a stream')
  local ms, from_text, to_text = now_ms(), int_text(from_after), int_text(to_after)
  local id, amount_text = args[3], args[1]
  push(keys[3], cap, true, id .. '|o|' .. ms .. '|-' .. amount_text .. '|' .. args[6] .. '|' .. from_text)
  push(keys[4], cap, false, id .. '|i|' .. ms .. '|' .. amount_text .. '|' .. args[5] .. '|' .. to_text)
  redis.call('HINCRBY', keys[1], 'b', '-' .. amount_text)
  redis.call('HINCRBY', keys[2], 'b', amount_text)
  append_event(keys[5], args[7], 'transfer.completed', transfer_event(id, args[5], args[6], amount_text, from_text, to_text))
  return { from_after, to_after, ms }
end

--- @include accounts-pending

--- @include accounts-batch

redis.register_function{ function_name = 'accounts_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_get', callback = get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_history', callback = history, flags = { 'no-writes' } }
redis.register_function('accounts_open', idempotent(open, open_args))
redis.register_function('accounts_deposit', idempotent(movement('d', 'account.deposited'), movement_args))
redis.register_function('accounts_withdraw', idempotent(movement('w', 'account.withdrawn'), movement_args))
redis.register_function('accounts_transfer', idempotent(transfer, transfer_args))
redis.register_function('accounts_transfer_batch', idempotent(transfer_batch, batch_args))
redis.register_function('accounts_transfer_pending', idempotent(transfer_pending, pending_args))
redis.register_function('accounts_post', idempotent(resolve('post'), resolve_args('post')))
redis.register_function('accounts_void', idempotent(resolve('void'), resolve_args('void')))
redis.register_function('accounts_expire', idempotent(resolve('expire'), resolve_args('expire')))
redis.register_function{ function_name = 'accounts_get_transfer', callback = get_transfer, flags = { 'no-writes' } }
redis.register_function{ function_name = 'accounts_due', callback = due, flags = { 'no-writes' } }
