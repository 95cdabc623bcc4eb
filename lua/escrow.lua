#!lua name=escrow
--[[
  Cross-shard transfers of a spread ledger (src/accounts/spread/): escrow holds on each account's slot, one
  decision record per transaction whose compare-and-set is the commit point, and an idempotent sweeper.
  Design: README "Cross-shard transfers" and ../shared/cross-shard.md. Every function runs on ONE shard (one hash
  tag): the coordinator calls them one after the other across shards; none needs the coordinator to survive.

  Shard keys (a shard is an ordinary ledger: its accounts are lua/accounts.lua's, with the same b / m / dp / cp):
  Account   HASH    <prefix>:{<shard>}:acct:<id>     dp / cp also count escrow holds (so every accounts_* function
                    sees a held amount as pending: available = b - dp, b + cp <= 2^53 - 1)
  History   LIST    <prefix>:{<shard>}:hist:<id>     a posted leg is an ordinary transfer_out / transfer_in entry (o / i)
  Holds     HASH    <prefix>:{<shard>}:xholds        txid -> <deadline>|<participants>|<accounts>|<legs> (open holds only)
                    accounts = <id>:<X>:<Y>:<net> joined by ';' (X = held on dp, Y = held on cp, net = what a post moves)
                    legs     = <account position>:<item index>:<item id>:<signed amount>:<counterparty> joined by ';'
  Done      STRING  <prefix>:{<shard>}:xdone:<txid>  (expires after the retention) the participant's final state:
                    P|<ms>|<item index>:<o|i>:<balance after>;…  posted · V  voided · R|<index>|<rank>|<error>  refused.
                    A tombstone: a hold that arrives after a void (or a refusal) is refused, never applied.
  Tx        HASH    <prefix>:{<bucket shard>}:xtx:<txid>   s = PREPARING | COMMITTED | ABORTED, f = fingerprint,
                    p = participants (shard indexes, comma-separated), c = created ms, e = deadline ms, r = abort
                    reason (an error reply text), n = 1 once finished, o = outcome (committed: <ms>,<from bal>,<to bal>,…)
  Due       ZSET    <prefix>:{<bucket shard>}:xtx-due:all   txid -> when the sweeper should look at it (ms)

  Rules: KEYS and ARGV are validated first (INVALID_ARGUMENT), then every read and check, then the writes (Redis
  never rolls back). Every write function is idempotent per txid: a retry with the same arguments returns the same
  state. Replies are flat arrays of strings and integers. Business refusals are data ({'REFUSED', …}), not errors:
  a refusal is a vote in the two-phase protocol, stored in the done marker.
]]

local LIBRARY_VERSION = '{{version}}'

--- @include core
--- @include args

local MAX_MS = 86400000               -- timeouts and graces: at most a day
local MAX_RETENTION = 1000000000      -- seconds
local MAX_TEXT = 4000                 -- an abort reason (an error reply text)
local TX_STATES = { PREPARING = true, COMMITTED = true, ABORTED = true }

local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function ends_with(text, suffix)
  return string.sub(text, -#suffix) == suffix
end

-- Shard indexes of the participants: '0,3' (1 to 256 characters).
local function parts_arg(text)
  if type(text) ~= 'string' or #text > 256 or not string.match(text, '^%d+$') and not string.match(text, '^%d+[%d,]*%d$') or
    string.find(text, ',,') then
    invalid('participants', 'shard indexes joined by commas')
  end
  return text
end

--- @include account-read

-- A transaction record { s, f, p, c, e, r, n, o } checked, or nil.
local function read_tx(key)
  local f = redis.pcall('HMGET', key, 's', 'f', 'p', 'c', 'e', 'r', 'n', 'o')
  if f.err then corrupted(key, 'transaction record is not a hash') end
  if f[1] == false then return nil end
  if not TX_STATES[f[1]] or not safe_integer(f[5] or '0') then corrupted(key, 'transaction record is not in the shape this library writes') end
  return { s = f[1], f = f[2] or '', p = f[3] or '', c = f[4] or '0', e = f[5] or '0', r = f[6] or '', n = f[7] == '1' and 1 or 0, o = f[8] or '' }
end

local function tx_reply(tx)
  return { tx.s, tonumber(tx.e), tx.n, tx.r, tx.o, tx.p }
end

local function read_marker(key)
  local marker = redis.pcall('GET', key)
  if type(marker) == 'table' and marker.err then corrupted(key, 'done marker is not a string') end
  return marker
end

local function read_hold(key, txid)
  local hold = redis.pcall('HGET', key, txid)
  if type(hold) == 'table' and hold.err then corrupted(key, 'holds are not a hash') end
  return hold
end

-- A hold's accounts { id, X, Y, net } and legs { position, index, item id, amount, counterparty }.
local function parse_hold(key, hold)
  local deadline, parts, accounts_text, legs_text = string.match(hold, '^(%d+)|([%d,]+)|([^|]+)|([^|]+)$')
  if not deadline then corrupted(key, 'hold is not in the shape this library writes') end
  local accounts, legs = {}, {}
  for id, x, y, net in string.gmatch(accounts_text, '([%w_-]+):(%d+):(%d+):(-?%d+)') do
    accounts[#accounts + 1] = { id, tonumber(x), tonumber(y), tonumber(net), net }
  end
  for pos, index, item, amount, counterparty in string.gmatch(legs_text, '(%d+):(%d+):([%w_-]+):(-?%d+):([%w_-]+)') do
    legs[#legs + 1] = { tonumber(pos), index, item, amount, counterparty }
  end
  if #accounts == 0 or #legs == 0 then corrupted(key, 'hold is not in the shape this library writes') end
  return accounts, legs, deadline, parts
end

--[[ escrow_version  (no-writes)
  Reply: the library version. ]]
local function version(keys, args)
  if #keys > 0 then invalid('KEYS', 'none here') end
  arity(args, 0)
  return LIBRARY_VERSION
end

--[[ escrow_begin — creates the transaction PREPARING (or returns what it already is)
  KEYS[1] tx record   KEYS[2] due index
  ARGV[1] txid   ARGV[2] request fingerprint (an id)   ARGV[3] participants   ARGV[4] timeout ms (1 to 86400000)
  ARGV[5] grace ms (0 to 86400000: the sweeper aborts a PREPARING one only after deadline + grace)
  Reply: { state, deadline ms, finished (0/1), abort reason, outcome, participants }
  — or IDEMPOTENCY_KEY_MISMATCH (this txid was begun by another request) ]]
local function begin(keys, args)
  keys_ok(keys, 2)
  arity(args, 5)
  local txid = id_arg(args[1], 'txid')
  id_arg(args[2], 'fingerprint')
  parts_arg(args[3])
  local timeout = int_arg(args[4], 'timeout ms', 1, MAX_MS)
  local grace = int_arg(args[5], 'grace ms', 0, MAX_MS)
  if not ends_with(keys[1], ':xtx:' .. txid) then invalid('KEYS[1]', 'the transaction record of ARGV[1]') end
  local tx = read_tx(keys[1])
  if tx then
    if tx.f ~= '' and tx.f ~= args[2] then
      return fail('IDEMPOTENCY_KEY_MISMATCH', { message = 'this Idempotency-Key was used with a different request' })
    end
    return tx_reply(tx)
  end
  check_type(keys[2], 'zset', 'due index is not a sorted set')
  local now = now_ms()
  local deadline = now + timeout
  redis.call('HSET', keys[1], 's', 'PREPARING', 'f', args[2], 'p', args[3], 'c', int_text(now), 'e', int_text(deadline))
  redis.call('ZADD', keys[2], deadline + grace, txid)
  return { 'PREPARING', deadline, 0, '', '', args[3] }
end

--- @include escrow-participant

--[[ escrow_decide — the commit point: PREPARING -> COMMITTED or ABORTED, exactly once (compare-and-set)
  KEYS[1] tx record   KEYS[2] due index
  ARGV[1] txid   ARGV[2] wanted: COMMITTED | ABORTED   ARGV[3] abort reason ('' with COMMITTED; up to 4000 characters)
  ARGV[4] by: coordinator (commits only before the deadline: a later COMMIT becomes ABORTED) | sweeper (aborts only
  at or past deadline + grace) | evidence (a participant is already POSTED: commits whatever the time)
  ARGV[5] grace ms   ARGV[6] retention s   ARGV[7] participants ('' unless by evidence)
  Reply: { state, reason } — an existing decision is returned unchanged; { 'PREPARING', '' } when a sweeper is too
  early (nothing written); with no record an ABORTED wish writes an ABORTED tombstone (a late begin finds it), an
  evidence COMMITTED recreates the record, a coordinator COMMITTED answers { 'MISSING', '' } (nothing written). ]]
local BY = { coordinator = true, sweeper = true, evidence = true }

local function decide(keys, args)
  keys_ok(keys, 2)
  arity(args, 7)
  local txid = id_arg(args[1], 'txid')
  local wanted, reason, by = args[2], args[3], args[4]
  if wanted ~= 'COMMITTED' and wanted ~= 'ABORTED' then invalid('decision', 'COMMITTED or ABORTED') end
  if #reason > MAX_TEXT or (wanted == 'COMMITTED') ~= (reason == '') then invalid('reason', "'' with COMMITTED, else up to 4000 characters") end
  if not BY[by] or (by == 'evidence' and wanted ~= 'COMMITTED') or (by == 'sweeper' and wanted ~= 'ABORTED') then
    invalid('by', 'coordinator, sweeper (ABORTED) or evidence (COMMITTED)')
  end
  local grace = int_arg(args[5], 'grace ms', 0, MAX_MS)
  local retention = int_arg(args[6], 'retention s', 1, MAX_RETENTION)
  if args[7] ~= '' then parts_arg(args[7]) end
  if not ends_with(keys[1], ':xtx:' .. txid) then invalid('KEYS[1]', 'the transaction record of ARGV[1]') end
  local tx = read_tx(keys[1])
  check_type(keys[2], 'zset', 'due index is not a sorted set')
  local now = now_ms()
  if not tx then
    if wanted == 'ABORTED' then
      redis.call('HSET', keys[1], 's', 'ABORTED', 'r', reason, 'e', '0', 'n', '1')
      redis.call('EXPIRE', keys[1], retention)
      return { 'ABORTED', reason }
    end
    if by ~= 'evidence' then return { 'MISSING', '' } end
    if args[7] == '' then invalid('participants', 'given with an evidence commit') end
    redis.call('HSET', keys[1], 's', 'COMMITTED', 'p', args[7], 'f', '', 'e', '0', 'c', int_text(now))
    redis.call('ZADD', keys[2], now + grace, txid)
    return { 'COMMITTED', '' }
  end
  if tx.s ~= 'PREPARING' then return { tx.s, tx.r } end
  local deadline = tonumber(tx.e)
  if by == 'sweeper' and now < deadline + grace then return { 'PREPARING', '' } end
  local state = wanted
  if by == 'coordinator' and wanted == 'COMMITTED' and now >= deadline then
    state, reason = 'ABORTED', 'TRANSFER_ABORTED ' .. encode({ message = 'the transaction passed its deadline before it was decided',
      reason = 'deadline' })
  end
  redis.call('HSET', keys[1], 's', state, 'r', reason)
  redis.call('ZADD', keys[2], now + grace, txid) -- the sweeper finishes it if its coordinator does not
  return { state, reason }
end

--[[ escrow_finish — the transaction is decided and applied everywhere: off the due index, kept for the retention
  KEYS[1] tx record   KEYS[2] due index
  ARGV[1] txid   ARGV[2] outcome ('' or up to 100000 characters of digits, '-' and ',')   ARGV[3] retention s
  Reply: { 'FINISHED' } | { 'MISSING' } (no record: taken off the index) | { 'PREPARING' } (undecided: nothing written) ]]
local function finish(keys, args)
  keys_ok(keys, 2)
  arity(args, 3)
  local txid = id_arg(args[1], 'txid')
  if #args[2] > 100000 or string.find(args[2], '[^%d,%-]') then invalid('outcome', 'digits, - and , (at most 100000)') end
  local retention = int_arg(args[3], 'retention s', 1, MAX_RETENTION)
  if not ends_with(keys[1], ':xtx:' .. txid) then invalid('KEYS[1]', 'the transaction record of ARGV[1]') end
  local tx = read_tx(keys[1])
  check_type(keys[2], 'zset', 'due index is not a sorted set')
  if not tx then
    redis.call('ZREM', keys[2], txid)
    return { 'MISSING' }
  end
  if tx.s == 'PREPARING' then return { 'PREPARING' } end
  if tx.n == 0 then
    redis.call('HSET', keys[1], 'n', '1', 'o', args[2])
    redis.call('EXPIRE', keys[1], retention)
  end
  redis.call('ZREM', keys[2], txid)
  return { 'FINISHED' }
end

--[[ escrow_tx  (no-writes)
  KEYS[1] tx record
  Reply: { state, deadline ms, finished (0/1), abort reason, outcome, participants } or { 'NONE' } ]]
local function tx_get(keys, args)
  keys_ok(keys, 1)
  arity(args, 0)
  local tx = read_tx(keys[1])
  if not tx then return { 'NONE' } end
  return tx_reply(tx)
end

--[[ escrow_due  (no-writes)
  KEYS[1] due index   ARGV[1] limit (1 to 1000)
  Reply: up to `limit` txids whose sweep time has come (server time), oldest first ]]
local function due(keys, args)
  keys_ok(keys, 1)
  arity(args, 1)
  local limit = int_arg(args[1], 'limit', 1, 1000)
  local ids = redis.pcall('ZRANGE', keys[1], '-inf', now_ms(), 'BYSCORE', 'LIMIT', 0, limit)
  if ids.err then corrupted(keys[1], 'due index is not a sorted set') end
  return ids
end

redis.register_function{ function_name = 'escrow_version', callback = version, flags = { 'no-writes' } }
redis.register_function('escrow_begin', begin)
redis.register_function('escrow_hold', function(keys, args) return hold(keys, args, hold_args(keys, args)) end)
redis.register_function('escrow_decide', decide)
redis.register_function('escrow_post', resolve('post'))
redis.register_function('escrow_void', resolve('void'))
redis.register_function('escrow_finish', finish)
redis.register_function{ function_name = 'escrow_tx', callback = tx_get, flags = { 'no-writes' } }
redis.register_function{ function_name = 'escrow_due', callback = due, flags = { 'no-writes' } }
redis.register_function{ function_name = 'escrow_holds', callback = holds, flags = { 'no-writes' } }
redis.register_function{ function_name = 'escrow_audit', callback = audit, flags = { 'no-writes' } }
