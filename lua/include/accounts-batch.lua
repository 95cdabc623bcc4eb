--[[ lua/include/accounts-batch.lua — accounts_transfer_batch of lua/accounts.lua only (kept apart so that no source
  file grows past ~330 lines). Needs core.lua, args.lua, lua/accounts.lua's read_account, push, now_ms,
  refuse_transfer, transfer_event and accounts-pending.lua's MAX_TIMEOUT and store_pending. ]]

--[[ accounts_transfer_batch — all or nothing, items applied in order (later items see earlier ones)
  KEYS[1..n] the accounts involved   KEYS[n+1..2n] their histories, same order   KEYS[2n+1] events
  KEYS[2n+2] pending deadlines (ZSET)   KEYS[2n+3..] one pending-transfer key per pending item, in item order
  ARGV[1] history cap (>= 1)   ARGV[2] n (number of accounts, 2 to 4000)   ARGV[3] events maxlen (>= 1)
  ARGV[4..3+n] the account ids, same order
  then 6 values per transfer (1 to 2000 transfers): source index, target index (1-based into KEYS, different),
  amount (> 0), request floor ('' = none), transfer id, timeout seconds ('' = a plain transfer, else pending)
  Reply: flat { source balance 1, target balance 1, [deadline 1 when pending], source balance 2, …, server time (ms) }
  — or an error naming the failing item: { index = 0-based item, … } ]]
local function batch_args(keys, args)
  local n = int_arg(args[2], 'account count', 2, 2 * MAX_ITEMS)
  local cap = int_arg(args[1], 'history cap', 1, MAX_SAFE)
  int_arg(args[3], 'events maxlen', 1, MAX_SAFE)
  local values = #args - 3 - n
  if values < 6 or values % 6 ~= 0 or values > 6 * MAX_ITEMS then
    invalid('ARGV', 'n account ids and then 6 values for each of 1 to ' .. MAX_ITEMS .. ' transfers')
  end
  for i = 4, 3 + n do id_arg(args[i], 'account id') end
  local items, pending = {}, 0 -- per transfer: source, target, amount, request floor (false = none), id, timeout or false
  for base = 4 + n, #args, 6 do
    local s, t = int_arg(args[base], 'source index', 1, n), int_arg(args[base + 1], 'target index', 1, n)
    if s == t then invalid('target index', 'another account than the source') end
    local timeout = optional_int_arg(args[base + 5], 'timeout seconds', 1, MAX_TIMEOUT)
    if timeout then pending = pending + 1 end
    items[#items + 1] = { s, t, int_arg(args[base + 2], 'amount', 1, MAX_SAFE),
      optional_int_arg(args[base + 3], 'floor', -MAX_SAFE, MAX_SAFE), id_arg(args[base + 4], 'transfer id'), timeout }
  end
  keys_ok(keys, 2 * n + 2 + pending)
  return n, cap, items
end

local function transfer_batch(keys, args, n, cap, items)
  local ids, balances, floors, debits, credits, opening = {}, {}, {}, {}, {}, {}
  for i = 1, n do
    ids[i] = args[3 + i]
    balances[i], floors[i], debits[i], credits[i] = read_account(keys[i])
    opening[i] = { balances[i], debits[i], credits[i] }
  end
  local deadlines_key, pend = keys[2 * n + 2], 2 * n + 2 -- pend + k = the k-th pending item's key
  -- Simulate the whole batch first: nothing is written unless every item passes.
  local after, used, k = {}, {}, 0
  for index, item in ipairs(items) do
    local s, t, amount, timeout = item[1], item[2], item[3], item[6]
    used[s], used[t] = true, true
    if not balances[s] then
      return fail('ACCOUNT_NOT_FOUND', { message = 'source account not found', index = index - 1, account = ids[s] })
    end
    if not balances[t] then
      return fail('ACCOUNT_NOT_FOUND', { message = 'target account not found', index = index - 1, account = ids[t] })
    end
    local refused = refuse_transfer(balances[s], floors[s], debits[s], balances[t], credits[t], amount, item[4], timeout,
      ids[s], ids[t], index - 1)
    if refused then return refused end
    if timeout then
      k = k + 1
      if redis.call('EXISTS', keys[pend + k]) == 1 then invalid('transfer id', 'a new pending transfer id') end
      debits[s], credits[t] = debits[s] + amount, credits[t] + amount
    else
      balances[s], balances[t] = balances[s] - amount, balances[t] + amount
    end
    after[#after + 1] = balances[s]
    after[#after + 1] = balances[t]
    if timeout then after[#after + 1] = false end -- the deadline, once the time is read
  end
  local first -- the first history written: its LPUSH fails cleanly; every other one is checked first
  for i = 1, n do
    if used[i] then
      if first then check_type(keys[n + i], 'list', 'history is not a list') else first = i end
    end
  end
  check_type(keys[2 * n + 1], 'stream', 'event log is not a stream')
  if k > 0 then check_type(deadlines_key, 'zset', 'pending deadlines are not a sorted set') end
  local ms = now_ms()
  local entries, events, slot = {}, {}, 0
  for i = 1, n do entries[i] = {} end
  k = 0
  for index, item in ipairs(items) do
    local s, t, id, timeout = item[1], item[2], item[5], item[6]
    local amount = args[4 + n + (index - 1) * 6 + 2] -- the amount's canonical text
    local from_text, to_text = int_text(after[slot + 1]), int_text(after[slot + 2])
    local out, into = entries[s], entries[t]
    local kind = timeout and 'h' or ''
    out[#out + 1] = id .. '|' .. kind .. 'o|' .. ms .. '|-' .. amount .. '|' .. ids[t] .. '|' .. from_text
    into[#into + 1] = id .. '|' .. kind .. 'i|' .. ms .. '|' .. amount .. '|' .. ids[s] .. '|' .. to_text
    if timeout then
      k = k + 1
      local deadline = tonumber(ms) + timeout * 1000
      after[slot + 3] = deadline
      slot = slot + 3
      events[index] = '{"id":"' .. id .. '","from":"' .. ids[s] .. '","to":"' .. ids[t] .. '","amount":' .. amount ..
        ',"pending":true,"expiresAt":' .. int_text(deadline) .. '}'
    else
      slot = slot + 2
      events[index] = transfer_event(id, ids[s], ids[t], amount, from_text, to_text)
    end
  end
  -- Writes: one LPUSH per account (its entries in order), then exact HINCRBYs per changed account, then the
  -- pending records and their deadlines.
  for i = 1, n do
    if used[i] then push(keys[n + i], cap, i == first, unpack(entries[i])) end
  end
  for i = 1, n do
    if balances[i] ~= opening[i][1] then redis.call('HINCRBY', keys[i], 'b', int_text(balances[i] - opening[i][1])) end
    if debits[i] ~= opening[i][2] then redis.call('HINCRBY', keys[i], 'dp', int_text(debits[i] - opening[i][2])) end
    if credits[i] ~= opening[i][3] then redis.call('HINCRBY', keys[i], 'cp', int_text(credits[i] - opening[i][3])) end
  end
  k, slot = 0, 0
  for index, item in ipairs(items) do
    if item[6] then
      k = k + 1
      slot = slot + 3
      store_pending(keys[pend + k], deadlines_key, item[5], ids[item[1]], ids[item[2]],
        args[4 + n + (index - 1) * 6 + 2], ms, after[slot])
    else
      slot = slot + 2
    end
  end
  append_event(keys[2 * n + 1], args[3], 'transfer.batch_completed', '{"transfers":[' .. table.concat(events, ',') .. ']}')
  after[#after + 1] = ms
  return after
end
