--[[ lua/include/accounts-pending.lua — two-phase (pending) transfers of lua/accounts.lua only (kept apart so that no
  source file grows past ~330 lines). Needs core.lua, args.lua and lua/accounts.lua's read_account, push, now_ms and
  refuse_transfer, so it is included after them.

  Pending   HASH  <prefix>:{<ledger>}:pend:<transfer id>
                  f = source id, t = target id, a = amount (reserved), s = state (pending | posted | voided | expired),
                  c = created (server ms), e = deadline (server ms), r = resolved (server ms), p = posted amount
  Deadlines ZSET  <prefix>:{<ledger>}:pend-deadlines:all   member = transfer id, score = deadline (ms); open ones only

  A reservation moves nothing: the source's dp and the target's cp grow by the amount. It resolves exactly once:
  post (b moves by the posted amount, dp and cp shrink by the whole reservation), void, or expiry (both release the
  whole reservation). A stored `pending` at or past its deadline can no longer be posted or voided
  (PENDING_TRANSFER_EXPIRED, nothing written); the sweeper (accounts_due, then accounts_expire per transfer)
  releases it. ]]
local MAX_TIMEOUT = 4294967295 -- seconds (TigerBeetle's u32)
local PENDING_STATES = { pending = true, posted = true, voided = true, expired = true }

-- Writes a new pending transfer's record and deadline (all checks done by the caller).
local function store_pending(key, deadlines, id, from, to, amount_text, ms, deadline)
  redis.call('HSET', key, 'f', from, 't', to, 'a', amount_text, 's', 'pending', 'c', ms, 'e', int_text(deadline))
  redis.call('ZADD', deadlines, deadline, id)
end

-- A pending transfer's fields { from, to, amount, state, created, deadline, resolved|false, posted|false }, checked;
-- nil when there is none.
local function read_pending(key)
  local f = redis.pcall('HMGET', key, 'f', 't', 'a', 's', 'c', 'e', 'r', 'p')
  if f.err then corrupted(key, 'pending transfer is not a hash') end
  if f[1] == false then return nil end
  local ok = f[2] and not string.find(f[1], '[^A-Za-z0-9_-]') and not string.find(f[2], '[^A-Za-z0-9_-]') and
    safe_integer(f[3]) and PENDING_STATES[f[4]] and safe_integer(f[5]) and safe_integer(f[6]) and
    (f[7] == false or safe_integer(f[7])) and (f[8] == false or safe_integer(f[8]))
  if not ok then corrupted(key, 'pending transfer is not in the shape this library writes') end
  return f
end

local function ends_with(text, suffix)
  return string.sub(text, -#suffix) == suffix
end

--[[ accounts_transfer_pending — reserves: nothing moves until it is posted
  KEYS[1] source account   KEYS[2] target account   KEYS[3] source history   KEYS[4] target history
  KEYS[5] the pending transfer (must not exist)   KEYS[6] pending deadlines   KEYS[7] events
  ARGV[1] amount (> 0)   ARGV[2] request floor ('' = none)   ARGV[3] transfer id   ARGV[4] history cap (>= 1)
  ARGV[5] source id   ARGV[6] target id   ARGV[7] events maxlen (>= 1)   ARGV[8] timeout seconds (1 to 2^32 - 1)
  Reply: { source balance, target balance (both unchanged), server time (ms), deadline (ms) }
  — or ACCOUNT_NOT_FOUND / INSUFFICIENT_FUNDS (available = b - dp) / BALANCE_LIMIT_EXCEEDED (b + cp, dp, cp) ]]
local function pending_args(keys, args)
  keys_ok(keys, 7)
  arity(args, 8)
  local amount = int_arg(args[1], 'amount', 1, MAX_SAFE)
  local floor = optional_int_arg(args[2], 'floor', -MAX_SAFE, MAX_SAFE)
  id_arg(args[3], 'transfer id')
  local cap = int_arg(args[4], 'history cap', 1, MAX_SAFE)
  id_arg(args[5], 'source id')
  id_arg(args[6], 'target id')
  int_arg(args[7], 'events maxlen', 1, MAX_SAFE)
  local timeout = int_arg(args[8], 'timeout seconds', 1, MAX_TIMEOUT)
  if not ends_with(keys[5], ':pend:' .. args[3]) then invalid('KEYS[5]', 'the pending transfer of ARGV[3]') end
  return amount, floor, cap, timeout
end

local function transfer_pending(keys, args, amount, request_floor, cap, timeout)
  local from, floor, from_debits = read_account(keys[1])
  if not from then return fail('ACCOUNT_NOT_FOUND', { message = 'source account not found', account = args[5] }) end
  local to, _, _, to_credits = read_account(keys[2])
  if not to then return fail('ACCOUNT_NOT_FOUND', { message = 'target account not found', account = args[6] }) end
  local refused = refuse_transfer(from, floor, from_debits, to, to_credits, amount, request_floor, true, args[5], args[6])
  if refused then return refused end
  if redis.call('EXISTS', keys[5]) == 1 then invalid('transfer id', 'a new pending transfer id') end
  check_type(keys[3], 'list', 'history is not a list')
  check_type(keys[4], 'list', 'history is not a list')
  check_type(keys[6], 'zset', 'pending deadlines are not a sorted set')
  check_type(keys[7], 'stream', 'event log is not a stream')
  local ms = now_ms()
  local deadline = tonumber(ms) + timeout * 1000
  local id, amount_text, from_text, to_text = args[3], args[1], int_text(from), int_text(to)
  push(keys[3], cap, false, id .. '|ho|' .. ms .. '|-' .. amount_text .. '|' .. args[6] .. '|' .. from_text)
  push(keys[4], cap, false, id .. '|hi|' .. ms .. '|' .. amount_text .. '|' .. args[5] .. '|' .. to_text)
  redis.call('HINCRBY', keys[1], 'dp', amount_text)
  redis.call('HINCRBY', keys[2], 'cp', amount_text)
  store_pending(keys[5], keys[6], id, args[5], args[6], amount_text, ms, deadline)
  append_event(keys[7], args[7], 'transfer.pending', '{"id":"' .. id .. '","from":"' .. args[5] .. '","to":"' .. args[6] ..
    '","amount":' .. amount_text .. ',"expiresAt":' .. int_text(deadline) .. '}')
  return { from, to, ms, deadline }
end

--[[ accounts_post / accounts_void / accounts_expire — resolve a pending transfer, exactly once
  KEYS[1] the pending transfer   KEYS[2] pending deadlines   KEYS[3] events
  and, when it exists: KEYS[4] source account   KEYS[5] target account   KEYS[6] source history   KEYS[7] target history
  ARGV[1] transfer id   ARGV[2] amount to post ('' = all of it; always '' for void and expire)   ARGV[3] history cap (>= 1)
  ARGV[4] events maxlen (>= 1)
  Reply (post, void): { source, target, amount, state, created, deadline, resolved, posted amount ('0' unless
  posted), source balance, target balance }  — or PENDING_TRANSFER_NOT_FOUND / _ALREADY_POSTED / _ALREADY_VOIDED /
  _EXPIRED (at or past the deadline, released or not) / _AMOUNT_EXCEEDED (post only; details.pending)
  Reply (expire): { 1 } released as expired, { 0 } nothing to do (gone, resolved meanwhile, not yet due): the
  sweeper may call it concurrently from every instance. ]]
local function resolve_args(mode)
  return function(keys, args)
    if #keys ~= 3 then keys_ok(keys, 7) else keys_ok(keys, 3) end
    arity(args, 4)
    local id = id_arg(args[1], 'transfer id')
    local amount = false
    if mode == 'post' then amount = optional_int_arg(args[2], 'amount', 1, MAX_SAFE)
    elseif args[2] ~= '' then invalid('amount', "'' here") end
    local cap = int_arg(args[3], 'history cap', 1, MAX_SAFE)
    int_arg(args[4], 'events maxlen', 1, MAX_SAFE)
    if not ends_with(keys[1], ':pend:' .. id) then invalid('KEYS[1]', 'the pending transfer of ARGV[1]') end
    return amount, cap
  end
end

local function resolve(mode)
  return function(keys, args, amount, cap)
    local id = args[1]
    local p = read_pending(keys[1])
    if not p then
      if mode == 'expire' then return { 0 } end
      return fail('PENDING_TRANSFER_NOT_FOUND', { message = 'pending transfer not found' })
    end
    if #keys ~= 7 or not ends_with(keys[4], ':acct:' .. p[1]) or not ends_with(keys[5], ':acct:' .. p[2]) or
      not ends_with(keys[6], ':hist:' .. p[1]) or not ends_with(keys[7], ':hist:' .. p[2]) then
      invalid('KEYS', 'the accounts and histories of the pending transfer')
    end
    local now, reserved = tonumber(now_ms()), tonumber(p[3])
    local due = now >= tonumber(p[6])
    if mode == 'expire' then
      if p[4] ~= 'pending' or not due then return { 0 } end
    else
      if p[4] == 'posted' then return fail('PENDING_TRANSFER_ALREADY_POSTED', { message = 'pending transfer already posted' }) end
      if p[4] == 'voided' then return fail('PENDING_TRANSFER_ALREADY_VOIDED', { message = 'pending transfer already voided' }) end
      if p[4] == 'expired' or due then return fail('PENDING_TRANSFER_EXPIRED', { message = 'pending transfer expired' }) end
    end
    local posted = 0
    if mode == 'post' then
      posted = amount or reserved
      if posted > reserved then
        return fail('PENDING_TRANSFER_AMOUNT_EXCEEDED', { message = 'amount exceeds the pending amount', pending = reserved })
      end
    end
    local from, _, from_debits = read_account(keys[4])
    local to, _, _, to_credits = read_account(keys[5])
    if not from or not to or from_debits < reserved or to_credits < reserved then
      corrupted(keys[1], 'pending transfer does not match its accounts')
    end
    check_type(keys[2], 'zset', 'pending deadlines are not a sorted set')
    check_type(keys[3], 'stream', 'event log is not a stream')
    check_type(keys[6], 'list', 'history is not a list')
    check_type(keys[7], 'list', 'history is not a list')
    local ms = int_text(now)
    local from_after, to_after = from - posted, to + posted
    local from_text, to_text, reserved_text, posted_text = int_text(from_after), int_text(to_after), p[3], int_text(posted)
    local kind, state, event_type = 'x', 'expired', 'transfer.expired'
    if mode == 'post' then kind, state, event_type = 'p', 'posted', 'transfer.posted'
    elseif mode == 'void' then kind, state, event_type = 'v', 'voided', 'transfer.voided' end
    local out_amount, in_amount = reserved_text, '-' .. reserved_text -- a release reverses the reservation
    if mode == 'post' then out_amount, in_amount = '-' .. posted_text, posted_text end
    push(keys[6], cap, false, id .. '|' .. kind .. 'o|' .. ms .. '|' .. out_amount .. '|' .. p[2] .. '|' .. from_text)
    push(keys[7], cap, false, id .. '|' .. kind .. 'i|' .. ms .. '|' .. in_amount .. '|' .. p[1] .. '|' .. to_text)
    redis.call('HINCRBY', keys[4], 'dp', '-' .. reserved_text)
    redis.call('HINCRBY', keys[5], 'cp', '-' .. reserved_text)
    if posted > 0 then
      redis.call('HINCRBY', keys[4], 'b', '-' .. posted_text)
      redis.call('HINCRBY', keys[5], 'b', posted_text)
    end
    redis.call('HSET', keys[1], 's', state, 'r', ms, 'p', posted_text)
    redis.call('ZREM', keys[2], id)
    local data = '{"id":"' .. id .. '","from":"' .. p[1] .. '","to":"' .. p[2] .. '","amount":'
    if mode == 'post' then
      data = data .. posted_text .. ',"released":' .. int_text(reserved - posted) .. ',"fromBalance":' .. from_text ..
        ',"toBalance":' .. to_text .. '}'
    else
      data = data .. reserved_text .. '}'
    end
    append_event(keys[3], args[4], event_type, data)
    if mode == 'expire' then return { 1 } end
    return { p[1], p[2], p[3], state, p[5], p[6], ms, posted_text, from_after, to_after }
  end
end

--[[ accounts_get_transfer  (no-writes)
  KEYS[1] the pending transfer
  Reply: { source, target, amount, state (as stored), created, deadline, resolved ('' while open), posted amount
  ('' unless resolved), server time (ms) }  — or PENDING_TRANSFER_NOT_FOUND ]]
local function get_transfer(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  local p = read_pending(keys[1])
  if not p then return fail('PENDING_TRANSFER_NOT_FOUND', { message = 'pending transfer not found' }) end
  return { p[1], p[2], p[3], p[4], p[5], p[6], p[7] or '', p[8] or '', now_ms() }
end

--[[ accounts_due  (no-writes)
  KEYS[1] pending deadlines   ARGV[1] limit (1 to 1000)
  Reply: the ids of up to `limit` open pending transfers at or past their deadline (server time), oldest first ]]
local function due(keys, args)
  keys_ok(keys, 1)
  arity(args, 1)
  local limit = int_arg(args[1], 'limit', 1, 1000)
  local ids = redis.pcall('ZRANGE', keys[1], '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, limit)
  if ids.err then corrupted(keys[1], 'pending deadlines are not a sorted set') end
  return ids
end
