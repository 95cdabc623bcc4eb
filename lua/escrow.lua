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

-- The same reader as lua/accounts.lua's read_account: balance, floor, pending debits, pending credits; nil if absent.
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

--[[ escrow_hold — a participant's vote: hold every leg of the transaction on this shard, or refuse
  KEYS[1] holds   KEYS[2] done marker of the txid   KEYS[3..2+n] the accounts, in ARGV order
  ARGV[1] txid   ARGV[2] deadline ms (from escrow_begin)   ARGV[3] participants   ARGV[4] retention s (1 to 10^9)
  ARGV[5] n (1 to 4000)   ARGV[6..5+n] account ids
  then 6 values per leg (1 to 4000), in item order: account position (1..n), item index (0-based), item id,
  signed amount (< 0 debit, > 0 credit), counterparty id, request floor ('' = none; debits only)
  Legs of one account are checked in order as accounts_transfer_batch does (a leg sees the earlier legs), against
  available = b - dp; the account holds X = its largest drawdown on dp and Y = its largest run-up on cp, so a
  later post (b += net) can break neither the floor nor the 2^53 - 1 limit, whatever happens in between.
  Reply: { 'HELD' } | { 'REFUSED', item index, rank, error text } (rank within an item: 0 source missing, 1 target
  missing, 2 funds, 3 limits; index 999999 = past the deadline) | { 'VOIDED' } (a void came first: refused for
  good) | { 'POSTED', … } (already posted: the stored post reply) ]]
local function hold_args(keys, args)
  local n = int_arg(args[5], 'account count', 1, 2 * MAX_ITEMS)
  local values = #args - 5 - n
  if values < 6 or values % 6 ~= 0 or values > 12 * MAX_ITEMS then invalid('ARGV', 'n account ids, then 6 values per leg') end
  keys_ok(keys, 2 + n)
  local txid = id_arg(args[1], 'txid')
  int_arg(args[2], 'deadline ms', 1, MAX_SAFE)
  parts_arg(args[3])
  int_arg(args[4], 'retention s', 1, MAX_RETENTION)
  if not ends_with(keys[2], ':xdone:' .. txid) then invalid('KEYS[2]', 'the done marker of ARGV[1]') end
  local ids = {}
  for i = 1, n do
    ids[i] = id_arg(args[5 + i], 'account id')
    if not ends_with(keys[2 + i], ':acct:' .. ids[i]) then invalid('KEYS[' .. (2 + i) .. ']', 'the account of ARGV[' .. (5 + i) .. ']') end
  end
  local legs, last = {}, -1
  for base = 6 + n, #args, 6 do
    local index = int_arg(args[base + 1], 'item index', 0, MAX_ITEMS - 1)
    if index < last then invalid('item index', 'legs in item order') end
    last = index
    local amount = int_arg(args[base + 3], 'amount', -MAX_SAFE, MAX_SAFE)
    if amount == 0 then invalid('amount', 'not 0') end
    local floor = optional_int_arg(args[base + 5], 'floor', -MAX_SAFE, MAX_SAFE)
    if floor and amount > 0 then invalid('floor', "'' on a credit leg") end
    legs[#legs + 1] = { int_arg(args[base], 'account position', 1, n), index, id_arg(args[base + 2], 'item id'), amount,
      id_arg(args[base + 4], 'counterparty'), floor }
  end
  return n, ids, legs
end

local function posted_reply(marker)
  local ms, entries = string.match(marker, '^P|(%d+)|(.*)$')
  local reply = { 'POSTED', ms }
  for index, role, balance in string.gmatch(entries, '(%d+):([oi]):(-?%d+)') do
    reply[#reply + 1] = index
    reply[#reply + 1] = role
    reply[#reply + 1] = balance
  end
  return reply
end

local function marker_reply(marker)
  if marker == 'V' then return { 'VOIDED' } end
  if string.sub(marker, 1, 2) == 'P|' then return posted_reply(marker) end
  local index, rank, err = string.match(marker, '^R|(%d+)|(%d+)|(.*)$')
  if not index then corrupted('done marker', 'done marker is not in the shape this library writes') end
  return { 'REFUSED', tonumber(index), tonumber(rank), err }
end

local function hold(keys, args, n, ids, legs)
  local txid = args[1]
  local marker = read_marker(keys[2])
  if marker then return marker_reply(marker) end
  if read_hold(keys[1], txid) then return { 'HELD' } end
  local now = now_ms()
  local retention = args[4]
  local function refuse(index, rank, err)
    redis.call('SET', keys[2], 'R|' .. index .. '|' .. rank .. '|' .. err, 'EX', retention)
    return { 'REFUSED', index, rank, err }
  end
  if now >= tonumber(args[2]) then
    return refuse(999999, 0, 'TRANSFER_ABORTED ' .. encode({ message = 'the transaction passed its deadline before it was held',
      reason = 'deadline' }))
  end
  check_type(keys[1], 'hash', 'holds are not a hash')
  local b, m, dp, cp, c, low, high = {}, {}, {}, {}, {}, {}, {}
  for i = 1, n do
    b[i], m[i], dp[i], cp[i] = read_account(keys[2 + i])
    c[i], low[i], high[i] = 0, 0, 0
  end
  local best_index, best_rank, best_err
  local function refused(index, rank, code, details)
    if best_index and (index > best_index or (index == best_index and rank >= best_rank)) then return end
    details.index = index
    best_index, best_rank, best_err = index, rank, code .. ' ' .. encode(details)
  end
  for _, leg in ipairs(legs) do
    local pos, index, amount, floor = leg[1], leg[2], leg[4], leg[6]
    if best_index and index > best_index then break end
    if not b[pos] then
      refused(index, amount < 0 and 0 or 1, 'ACCOUNT_NOT_FOUND', { message = (amount < 0 and 'source' or 'target') .. ' account not found',
        account = ids[pos] })
    elseif amount < 0 then
      local limit = m[pos]
      if floor and floor > limit then limit = floor end
      local balance = b[pos] + c[pos]
      if balance - dp[pos] + amount < limit then
        refused(index, 2, 'INSUFFICIENT_FUNDS', { message = 'balance would fall below the floor', account = ids[pos],
          balance = balance, available = balance - dp[pos], floor = limit })
      end
      c[pos] = c[pos] + amount
      if c[pos] < low[pos] then low[pos] = c[pos] end
      if dp[pos] - low[pos] > MAX_SAFE then
        refused(index, 3, 'BALANCE_LIMIT_EXCEEDED', { message = 'pending debits would exceed the largest safe integer', account = ids[pos] })
      end
    else
      if b[pos] + c[pos] + cp[pos] + amount > MAX_SAFE or cp[pos] + high[pos] + amount > MAX_SAFE then
        refused(index, 3, 'BALANCE_LIMIT_EXCEEDED', { message = 'balance would exceed the largest safe integer', account = ids[pos] })
      end
      c[pos] = c[pos] + amount
      if c[pos] > high[pos] then high[pos] = c[pos] end
    end
  end
  if best_index then return refuse(best_index, best_rank, best_err) end
  local accounts, entries = {}, {}
  for i = 1, n do
    accounts[i] = ids[i] .. ':' .. int_text(-low[i]) .. ':' .. int_text(high[i]) .. ':' .. int_text(c[i])
  end
  for i, leg in ipairs(legs) do
    entries[i] = leg[1] .. ':' .. leg[2] .. ':' .. leg[3] .. ':' .. int_text(leg[4]) .. ':' .. leg[5]
  end
  for i = 1, n do
    if low[i] < 0 then redis.call('HINCRBY', keys[2 + i], 'dp', int_text(-low[i])) end
    if high[i] > 0 then redis.call('HINCRBY', keys[2 + i], 'cp', int_text(high[i])) end
  end
  redis.call('HSET', keys[1], txid, args[2] .. '|' .. args[3] .. '|' .. table.concat(accounts, ';') .. '|' .. table.concat(entries, ';'))
  return { 'HELD' }
end

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

--[[ escrow_post / escrow_void — apply or release this shard's holds of a decided transaction, exactly once
  KEYS[1] holds   KEYS[2] done marker of the txid   KEYS[3] events
  and when the hold exists: KEYS[4..3+n] its accounts, KEYS[4+n..3+2n] their histories (in the hold's order)
  ARGV[1] txid   ARGV[2] retention s   ARGV[3] history cap (>= 1)   ARGV[4] events maxlen (>= 1)
  Reply (post): { 'POSTED', ms, then per leg: item index, 'o' | 'i', balance after } (a repeat returns the same),
  { 'CONFLICT', 'VOIDED' | 'REFUSED' } (must not happen: alert), { 'MISSING' } (no hold, no marker: nothing written)
  Reply (void): { 'VOIDED' } (no hold: writes the tombstone that refuses a late hold), { 'CONFLICT', 'POSTED' }
  Either: { 'KEYS' } when the accounts given are not the hold's (read the hold again; nothing written). ]]
local function resolve(mode)
  return function(keys, args)
    local nkeys = #keys
    if nkeys == 3 then keys_ok(keys, 3) elseif nkeys < 5 or nkeys % 2 == 0 then invalid('KEYS', '3, or 3 + 2n keys') else keys_ok(keys, nkeys) end
    arity(args, 4)
    local txid = id_arg(args[1], 'txid')
    local retention = int_arg(args[2], 'retention s', 1, MAX_RETENTION)
    local cap = int_arg(args[3], 'history cap', 1, MAX_SAFE)
    int_arg(args[4], 'events maxlen', 1, MAX_SAFE)
    if not ends_with(keys[2], ':xdone:' .. txid) then invalid('KEYS[2]', 'the done marker of ARGV[1]') end
    local marker = read_marker(keys[2])
    if marker then
      local reply = marker_reply(marker)
      if mode == 'post' then
        if reply[1] == 'POSTED' then return reply end
        return { 'CONFLICT', reply[1] }
      end
      if reply[1] == 'POSTED' then return { 'CONFLICT', 'POSTED' } end
      return { 'VOIDED' }
    end
    local hold = read_hold(keys[1], txid)
    if not hold then
      if mode == 'post' then return { 'MISSING' } end
      check_type(keys[1], 'hash', 'holds are not a hash')
      redis.call('SET', keys[2], 'V', 'EX', retention)
      return { 'VOIDED' }
    end
    local accounts, legs = parse_hold(keys[1], hold)
    local n = #accounts
    if nkeys ~= 3 + 2 * n then return { 'KEYS' } end
    for i = 1, n do
      if not ends_with(keys[3 + i], ':acct:' .. accounts[i][1]) or not ends_with(keys[3 + n + i], ':hist:' .. accounts[i][1]) then
        return { 'KEYS' }
      end
    end
    local b, dp, cp, _ = {}, {}, {}, nil
    for i = 1, n do
      b[i], _, dp[i], cp[i] = read_account(keys[3 + i])
      if not b[i] or dp[i] < accounts[i][2] or cp[i] < accounts[i][3] then corrupted(keys[3 + i], 'hold does not match its account') end
    end
    check_type(keys[1], 'hash', 'holds are not a hash')
    if mode == 'void' then
      for i = 1, n do
        if accounts[i][2] > 0 then redis.call('HINCRBY', keys[3 + i], 'dp', int_text(-accounts[i][2])) end
        if accounts[i][3] > 0 then redis.call('HINCRBY', keys[3 + i], 'cp', int_text(-accounts[i][3])) end
      end
      redis.call('HDEL', keys[1], txid)
      redis.call('SET', keys[2], 'V', 'EX', retention)
      return { 'VOIDED' }
    end
    for i = 1, n do check_type(keys[3 + n + i], 'list', 'history is not a list') end
    check_type(keys[3], 'stream', 'event log is not a stream')
    local ms = int_text(now_ms())
    local entries, done, reply, events = {}, {}, { 'POSTED', ms }, {}
    for i = 1, n do entries[i] = {} end
    for _, leg in ipairs(legs) do
      local pos, index, item, amount, counterparty = leg[1], leg[2], leg[3], leg[4], leg[5]
      b[pos] = b[pos] + tonumber(amount)
      local role, balance = string.sub(amount, 1, 1) == '-' and 'o' or 'i', int_text(b[pos])
      local list = entries[pos]
      list[#list + 1] = item .. '|' .. role .. '|' .. ms .. '|' .. amount .. '|' .. counterparty .. '|' .. balance
      done[#done + 1] = index .. ':' .. role .. ':' .. balance
      reply[#reply + 1] = index
      reply[#reply + 1] = role
      reply[#reply + 1] = balance
      events[#events + 1] = '{"transfer":"' .. item .. '","account":"' .. accounts[pos][1] .. '","amount":' .. amount ..
        ',"counterparty":"' .. counterparty .. '","balance":' .. balance .. '}'
    end
    for i = 1, n do
      local length = redis.call('LPUSH', keys[3 + n + i], unpack(entries[i]))
      if length > cap then redis.call('LTRIM', keys[3 + n + i], 0, cap - 1) end
      if accounts[i][4] ~= 0 then redis.call('HINCRBY', keys[3 + i], 'b', accounts[i][5]) end
      if accounts[i][2] > 0 then redis.call('HINCRBY', keys[3 + i], 'dp', int_text(-accounts[i][2])) end
      if accounts[i][3] > 0 then redis.call('HINCRBY', keys[3 + i], 'cp', int_text(-accounts[i][3])) end
    end
    redis.call('HDEL', keys[1], txid)
    redis.call('SET', keys[2], 'P|' .. ms .. '|' .. table.concat(done, ';'), 'EX', retention)
    append_event(keys[3], args[4], 'transfer.cross_shard_posted', '{"id":"' .. txid .. '","legs":[' .. table.concat(events, ',') .. ']}')
    return reply
  end
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

--[[ escrow_holds  (no-writes)
  KEYS[1] holds   ARGV[1] cursor ('0' to start)   ARGV[2] count (1 to 1000)
  Reply: { next cursor, txid 1, hold 1, txid 2, hold 2, … } (HSCAN: the repair scan and the tests walk every hold) ]]
local function holds(keys, args)
  keys_ok(keys, 1)
  arity(args, 2)
  int_arg(args[1], 'cursor', 0, MAX_SAFE)
  local count = int_arg(args[2], 'count', 1, 1000)
  local page = redis.pcall('HSCAN', keys[1], args[1], 'COUNT', count)
  if page.err then corrupted(keys[1], 'holds are not a hash') end
  local reply = { page[1] }
  for _, value in ipairs(page[2]) do reply[#reply + 1] = value end
  return reply
end

--[[ escrow_audit  (no-writes) — a shard's holds against its accounts' pending balances
  KEYS[1] holds   KEYS[2..1+n] accounts   ARGV[1..n] their ids
  For each account given: pending debits = the sum of X of the holds naming it, pending credits = the sum of Y, and
  available = b - dp >= its floor; every hold is well-formed. (A spread ledger has no other pending transfers.)
  Reply: { 'OK' } or { 'VIOLATION', text, text, … } ]]
local function audit(keys, args)
  local n = #args
  if n < 1 or n > 1000 then invalid('ARGV', '1 to 1000 account ids') end
  keys_ok(keys, 1 + n)
  for i = 1, n do
    id_arg(args[i], 'account id')
    if not ends_with(keys[1 + i], ':acct:' .. args[i]) then invalid('KEYS[' .. (1 + i) .. ']', 'the account of ARGV[' .. i .. ']') end
  end
  local held_d, held_c, wanted = {}, {}, {}
  for i = 1, n do wanted[args[i]], held_d[args[i]], held_c[args[i]] = true, 0, 0 end
  local all = redis.pcall('HGETALL', keys[1])
  if all.err then corrupted(keys[1], 'holds are not a hash') end
  local problems = {}
  for i = 1, #all, 2 do
    local ok, accounts = pcall(parse_hold, keys[1], all[i + 1])
    if not ok then
      problems[#problems + 1] = 'hold ' .. all[i] .. ' is malformed'
    else
      for _, a in ipairs(accounts) do
        if wanted[a[1]] then held_d[a[1]], held_c[a[1]] = held_d[a[1]] + a[2], held_c[a[1]] + a[3] end
      end
    end
  end
  for i = 1, n do
    local id = args[i]
    local b, m, dp, cp = read_account(keys[1 + i])
    if b then
      if dp ~= held_d[id] then problems[#problems + 1] = id .. ': pending debits ' .. int_text(dp) .. ' but holds ' .. int_text(held_d[id]) end
      if cp ~= held_c[id] then problems[#problems + 1] = id .. ': pending credits ' .. int_text(cp) .. ' but holds ' .. int_text(held_c[id]) end
      if b - dp < m then problems[#problems + 1] = id .. ': available ' .. int_text(b - dp) .. ' below the floor ' .. int_text(m) end
    elseif held_d[id] > 0 or held_c[id] > 0 then
      problems[#problems + 1] = id .. ': held but missing'
    end
  end
  if #problems == 0 then return { 'OK' } end
  table.insert(problems, 1, 'VIOLATION')
  return problems
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
