--[[ lua/include/escrow-participant.lua — the participant side of lua/escrow.lua only (a shard's holds: hold, post,
  void, their listing and the audit), kept apart so that no source file grows past ~330 lines. Needs core.lua, args.lua
  and lua/escrow.lua's now_ms, ends_with, parts_arg, read_account, read_marker, read_hold and parse_hold, so it is
  included after them. ]]

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
