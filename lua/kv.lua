#!lua name=kv
--[[
  The conditional store of one namespace: "write these keys only if those conditions hold", in one atomic step.

  Entry   STRING or HASH  {<namespace>}:kv:<key>         a logical key (an id); a string, or a hash of string fields
  Record  STRING          {<namespace>}:kv-idem:<digest>  an idempotency record (below), with a TTL
  Events  STREAM          {<namespace>}:events            the namespace's event log: every applied transaction
                                                          appends one entry { type = kv.transaction, data } in the
                                                          same FCALL (XADD MAXLEN ~); failures and replays none

  Every key of a call is in KEYS (one hash tag); the request is JSON in ARGV, decoded with cjson, with every
  integer sent as a string (cjson would round numbers past 14 digits). Integers are safe integers (|n| < 2^53),
  stored as canonical decimal text; INCRBY/HINCRBY do the arithmetic (exact 64-bit) once the bound is checked.
  Failures are `redis.error_reply('<CODE> <json details>')`, decoded in libs/redis-atomic/src/errors.ts.
  Rule: every read and check — every condition, and every update's type and value against the effects of the
  updates before it (a shadow of each key) — runs before the first write, because Redis never rolls back.
  src/kv/kv-rules.ts (planTransaction) is the same planner in TypeScript; the contract suite keeps them identical.
  Before all that, KEYS and ARGV are validated (INVALID_ARGUMENT, lua/include/args.lua): the request's shape as
  src/kv/kv-rules.ts checkTransaction allows it.
  Assembled at load time with the prelude below (libs/redis-atomic/src/redis/lua-source.ts); the version is a
  hash of the assembled source.
]]

local LIBRARY_VERSION = '{{version}}'
local MAX_CONDITIONS, MAX_UPDATES, MAX_VALUE_BYTES = 32, 32, 4096 -- as src/kv/kv-rules.ts
local MAX_EXPIRE_SECONDS = 315360000

--- @include core
--- @include args
--- @include idempotency

--[[ kv_version  (no-writes)
  Reply: the library version (a hash of the assembled source); the loader compares it with its own build. ]]
local function version(keys, args)
  if #keys > 0 then invalid('KEYS', 'none here') end
  arity(args, 0)
  return LIBRARY_VERSION
end

-- Shadows: what each key holds as the transaction goes (type, string value, hash length, known hash fields —
-- false = absent); `fresh` = (re)created by the transaction, so a field not known is absent. Read lazily.
local function shadow_of(keys, shadows, k)
  local s = shadows[k]
  if not s then
    local kind = redis.call('TYPE', keys[k]).ok
    s = { type = kind, value = false, length = 0, fields = {}, fresh = kind ~= 'hash' }
    if kind == 'string' then s.value = redis.call('GET', keys[k])
    elseif kind == 'hash' then s.length = redis.call('HLEN', keys[k]) end
    shadows[k] = s
  end
  return s
end

local function reset(s, kind)
  s.type, s.value, s.length, s.fields, s.fresh = kind, false, 0, {}, true
end

local function field_of(keys, k, s, field)
  local v = s.fields[field]
  if v == nil then
    if s.fresh then v = false else v = redis.call('HGET', keys[k], field) end
    s.fields[field] = v
  end
  return v
end

local function at(where, index, item)
  return { ['in'] = where, index = index, key = item.key, field = item.field }
end

local function wrong_type(where, index, item, kind)
  local details = at(where, index, item)
  details.type = kind
  details.message = where .. ' ' .. index .. ': ' .. item.key .. ' holds a ' .. kind .. ', not a ' ..
    (item.field and 'hash' or 'string')
  return fail('WRONG_TYPE', details)
end

local function not_integer(where, index, item)
  local details = at(where, index, item)
  details.message = where .. ' ' .. index .. ': the value of ' .. item.key .. (item.field and ('.' .. item.field) or '') ..
    ' is not an integer'
  return fail('NOT_AN_INTEGER', details)
end

local function overflow(index, item)
  local details = at('update', index, item)
  details.message = 'update ' .. index .. ': the result would leave the safe-integer range'
  return fail('INTEGER_OVERFLOW', details)
end

-- The first failing condition's error reply, or nil when all hold. Indexes in replies are 0-based.
local function check_conditions(keys, shadows, conditions)
  for i, c in ipairs(conditions) do
    local index = i - 1
    local s = shadow_of(keys, shadows, c.k)
    local expected = c.field and 'hash' or 'string'
    if s.type ~= expected and s.type ~= 'none' then return wrong_type('condition', index, c, s.type) end
    local current
    if not c.field then current = s.value
    elseif s.type == 'none' then current = false
    else current = field_of(keys, c.k, s, c.field) end
    local holds
    if c.op == 'exists' then holds = current ~= false
    elseif c.op == 'absent' then holds = current == false
    elseif c.op == 'eq' then holds = current == c.value
    elseif c.op == 'ne' then holds = current ~= c.value
    elseif current == false then holds = false
    else
      local n = safe_integer(current)
      if not n then return not_integer('condition', index, c) end
      local v = tonumber(c.value)
      if c.op == 'gt' then holds = n > v
      elseif c.op == 'gte' then holds = n >= v
      elseif c.op == 'lt' then holds = n < v
      elseif c.op == 'lte' then holds = n <= v
      else error('unknown condition op ' .. tostring(c.op)) end
    end
    if not holds then
      return fail('CONDITION_FAILED', { message = 'condition ' .. index .. ' does not hold', index = index, key = c.key,
        field = c.field, op = c.op })
    end
  end
  return nil
end

-- The first update that would fail (against the shadows, after the updates before it), or nil.
local function check_updates(keys, shadows, updates)
  for i, u in ipairs(updates) do
    local index = i - 1
    local s = shadow_of(keys, shadows, u.k)
    if u.op == 'set' then
      reset(s, 'string')
      s.value = u.value
    elseif u.op == 'del' then
      reset(s, 'none')
    elseif u.op == 'expire' then
      -- any type; a no-op on an absent key
    elseif u.op == 'incrby' then
      if s.type ~= 'string' and s.type ~= 'none' then return wrong_type('update', index, u, s.type) end
      local n = 0
      if s.type == 'string' then n = safe_integer(s.value) end
      if not n then return not_integer('update', index, u) end
      local result = n + tonumber(u.by)
      if result > MAX_SAFE or result < -MAX_SAFE then return overflow(index, u) end
      if s.type == 'none' then reset(s, 'string') end
      s.value = string.format('%d', result)
    elseif u.op == 'hset' or u.op == 'hincrby' or u.op == 'hdel' then
      if s.type ~= 'hash' and s.type ~= 'none' then return wrong_type('update', index, u, s.type) end
      local old = false
      if s.type == 'hash' then old = field_of(keys, u.k, s, u.field) end
      local new = false
      if u.op == 'hset' then new = u.value
      elseif u.op == 'hincrby' then
        local n = 0
        if old then n = safe_integer(old) end
        if not n then return not_integer('update', index, u) end
        local result = n + tonumber(u.by)
        if result > MAX_SAFE or result < -MAX_SAFE then return overflow(index, u) end
        new = string.format('%d', result)
      end
      if s.type ~= 'none' or new then
        if s.type == 'none' then reset(s, 'hash') end
        s.length = s.length + (new and 1 or 0) - (old and 1 or 0)
        s.fields[u.field] = new
        if s.length == 0 then reset(s, 'none') end -- Redis removes an emptied hash
      end
    else
      error('unknown update op ' .. tostring(u.op)) -- a bug on our side: raised before any write
    end
  end
  return nil
end

-- The request's shape (ARGV[1] and ARGV[2] decoded), as src/kv/kv-rules.ts checkTransaction lets it through.
local CONDITION_OPS = { exists = 'none', absent = 'none', eq = 'text', ne = 'text', gt = 'integer', gte = 'integer',
  lt = 'integer', lte = 'integer' }
local UPDATE_OPS = { set = { value = 'text' }, incrby = { by = 'integer' }, del = {}, expire = { seconds = 'seconds' },
  hset = { field = 'id', value = 'text' }, hincrby = { field = 'id', by = 'integer' }, hdel = { field = 'id' } }

local function json_list(text, name, min, max)
  local ok, list = pcall(cjson.decode, text)
  if not ok or type(list) ~= 'table' then invalid(name, 'a JSON array') end
  local count = 0
  for _ in pairs(list) do count = count + 1 end
  if count ~= #list or count < min or count > max then invalid(name, 'a JSON array of ' .. min .. ' to ' .. max .. ' items') end
  return list
end

local function item_value(item, property, kind, name)
  local value = item[property]
  if kind == 'text' then
    if type(value) ~= 'string' or #value > MAX_VALUE_BYTES then invalid(name, 'a string of at most 4096 bytes') end
  elseif kind == 'integer' then int_arg(value, name, -MAX_SAFE, MAX_SAFE)
  elseif kind == 'seconds' then int_arg(value, name, 1, MAX_EXPIRE_SECONDS)
  else id_arg(value, name) end
end

-- Every item: an object of exactly the allowed properties, k into the entry KEYS, an allowlisted key name.
local function item_ok(item, entries, allowed, name)
  if type(item) ~= 'table' then invalid(name, 'an object') end
  for property in pairs(item) do
    if property ~= 'k' and property ~= 'key' and property ~= 'op' and not allowed[property] then
      invalid(name, 'an object without ' .. tostring(property))
    end
  end
  if type(item.k) ~= 'number' or item.k < 1 or item.k > entries or item.k ~= math.floor(item.k) then
    invalid(name .. '.k', 'an index into the entry KEYS')
  end
  id_arg(item.key, name .. '.key')
end

local function transaction_args(keys, args)
  keys_ok(keys)
  arity(args, 4)
  local entries = #keys - 1
  if entries < 1 then invalid('KEYS', 'the entries and the event log') end
  local conditions = json_list(args[1], 'conditions', 0, MAX_CONDITIONS)
  local updates = json_list(args[2], 'updates', 1, MAX_UPDATES)
  for i, c in ipairs(conditions) do
    local name = 'conditions[' .. (i - 1) .. ']'
    local kind = CONDITION_OPS[c.op]
    if type(c) ~= 'table' or not kind then invalid(name .. '.op', 'a condition op') end
    item_ok(c, entries, { field = true, value = kind ~= 'none' }, name)
    if c.field ~= nil then id_arg(c.field, name .. '.field') end
    if kind ~= 'none' then item_value(c, 'value', kind, name .. '.value') end
  end
  for i, u in ipairs(updates) do
    local name = 'updates[' .. (i - 1) .. ']'
    local allowed = type(u) == 'table' and UPDATE_OPS[u.op]
    if not allowed then invalid(name .. '.op', 'an update op') end
    item_ok(u, entries, allowed, name)
    for property, kind in pairs(allowed) do item_value(u, property, kind, name .. '.' .. property) end
  end
  local ok, data = pcall(cjson.decode, args[3])
  if not ok or type(data) ~= 'table' then invalid('event data', 'a JSON object') end
  int_arg(args[4], 'events maxlen', 1, MAX_SAFE)
  return conditions, updates
end

--[[ kv_update_if_conditions_met   (the seed's update_if_conditions_met, with typed replies)
  KEYS[1..n] the entries the request names, each once, in order of first appearance   KEYS[n+1] events
  ARGV[1] conditions: JSON [{ k (index into KEYS), key (logical name), field?, op, value? (text) }, …] (0 to 32)
  ARGV[2] updates:    JSON [{ k, key, op, field?, value? (text), by? (integer text), seconds? (integer text) }, …] (1 to 32)
  ARGV[3] the event's data (JSON built by the caller from the validated request: { updates = [{ key, op, field?,
          value?, by?, seconds? }] }, integers as JSON numbers)   ARGV[4] events maxlen (>= 1)
  Reply: { number of updates applied }  (write functions: see Idempotency above)
    — or CONDITION_FAILED {index, key, field?, op}: the first condition (0-based) that does not hold;
      WRONG_TYPE {in, index, key, field?, type}: a condition or update on a key of the other kind;
      NOT_AN_INTEGER {in, index, key, field?}: an integer comparison or increment on a value that is not one;
      INTEGER_OVERFLOW {in, index, key, field?}: an increment leaving the safe-integer range.
  Conditions see the state before the transaction; each update sees the effects of the previous ones.
  set overwrites any type (as SET does), del deletes any type, expire works on any key (no-op when absent). ]]
local function update_if_conditions_met(keys, args, conditions, updates)
  local shadows = {}
  local failed = check_conditions(keys, shadows, conditions) or check_updates(keys, shadows, updates)
  if failed then return failed end
  local events = keys[#keys]
  check_type(events, 'stream', 'event log is not a stream') -- raised: no outcome to record; before any write
  -- All checked: from here on nothing can fail (types and integers are known), so every write is applied.
  for _, u in ipairs(updates) do
    local key = keys[u.k]
    if u.op == 'set' then redis.call('SET', key, u.value)
    elseif u.op == 'incrby' then redis.call('INCRBY', key, u.by)
    elseif u.op == 'del' then redis.call('DEL', key)
    elseif u.op == 'hset' then redis.call('HSET', key, u.field, u.value)
    elseif u.op == 'hincrby' then redis.call('HINCRBY', key, u.field, u.by)
    elseif u.op == 'hdel' then redis.call('HDEL', key, u.field)
    else redis.call('EXPIRE', key, u.seconds) end
  end
  append_event(events, args[4], 'kv.transaction', args[3])
  return { #updates }
end

--[[ kv_get  (no-writes)
  KEYS[1] the entry
  ARGV[1] its logical name (for error details; an id)
  Reply: { 'string', value, pttl } or { 'hash', { field, value, … }, pttl }   (pttl -1 = no TTL)
    — or KEY_NOT_FOUND {key}; WRONG_TYPE {key, type} for a type this store never writes ]]
local function get(keys, args)
  keys_ok(keys, 1)
  arity(args, 1)
  id_arg(args[1], 'key name')
  local kind = redis.call('TYPE', keys[1]).ok
  if kind == 'none' then return fail('KEY_NOT_FOUND', { message = 'key not found', key = args[1] }) end
  local value
  if kind == 'string' then value = redis.call('GET', keys[1])
  elseif kind == 'hash' then value = redis.call('HGETALL', keys[1])
  else return fail('WRONG_TYPE', { message = args[1] .. ' holds a ' .. kind, key = args[1], type = kind }) end
  return { kind, value, redis.call('PTTL', keys[1]) }
end

redis.register_function{ function_name = 'kv_version', callback = version, flags = { 'no-writes' } }
redis.register_function{ function_name = 'kv_get', callback = get, flags = { 'no-writes' } }
redis.register_function('kv_update_if_conditions_met', idempotent(update_if_conditions_met, transaction_args))
