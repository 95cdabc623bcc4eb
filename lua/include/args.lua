--[[ lua/include/args.lua — arguments of direct calls (every library).
  A user with FCALL rights can call any function with any KEYS and ARGV. Every function checks its KEYS count
  (keys_ok) and every ARGV (arity, then *_arg) before its first read; a malformed call raises
    INVALID_ARGUMENT {"message": …, "argument": <name>}
  — raised, so the idempotency wrapper records nothing, and always before any write. ]]
local MAX_ITEMS = 2000 -- the largest batch or order a function accepts (the modules allow at most 2000 / 100)

local function invalid(name, rule)
  error({ err = 'INVALID_ARGUMENT ' .. encode({ message = name .. ' must be ' .. rule, argument = name }) })
end

-- An id: 1 to 64 of [A-Za-z0-9_-] (libs/redis-atomic/src/keys.ts ID_PATTERN); safe in keys, entries and JSON.
local function id_arg(text, name)
  if type(text) ~= 'string' or #text > 64 or text == '' or string.find(text, '[^A-Za-z0-9_-]') then
    invalid(name, 'an id of 1 to 64 characters [A-Za-z0-9_-]')
  end
  return text
end

-- A canonical integer in [min, max].
local function int_arg(text, name, min, max)
  local n = safe_integer(text)
  if not n or n < min or n > max then invalid(name, 'an integer in [' .. int_text(min) .. ', ' .. int_text(max) .. ']') end
  return n
end

-- '' (false) or a canonical integer in [min, max].
local function optional_int_arg(text, name, min, max)
  if text == '' then return false end
  return int_arg(text, name, min, max)
end

-- Exactly `count` ARGV (a missing value or an extra one is refused).
local function arity(args, count)
  if #args ~= count then invalid('ARGV', 'exactly ' .. count .. ' values here, got ' .. #args) end
end

-- The hash tag of a key ('{…}', non-empty), or nil: every key of a call carries its shard's tag.
local function tag_of(key)
  local tag = string.match(key, '{.-}')
  if tag == '{}' then return nil end
  return tag
end

-- Exactly `count` KEYS (any number >= 1 when count is nil), all with the first key's hash tag, and — unless
-- `aliases` — all different: two roles on one key could make a later write fail on a type an earlier one made.
local function keys_ok(keys, count, aliases)
  local n = #keys
  if (count and n ~= count) or n == 0 then invalid('KEYS', (count and ('exactly ' .. count) or 'at least 1') .. ' keys here, got ' .. n) end
  local tag = tag_of(keys[1])
  if not tag then invalid('KEYS', 'keys with a hash tag {…}') end
  for i = 2, n do
    if string.match(keys[i], '{.-}') ~= tag then invalid('KEYS', 'keys of one hash tag ' .. tag) end
  end
  if aliases then return tag end
  if n <= 8 then -- pairwise (strings are interned: each comparison is a pointer check), no table
    for i = 2, n do
      for j = 1, i - 1 do
        if keys[i] == keys[j] then invalid('KEYS', 'different keys (' .. keys[i] .. ' repeats)') end
      end
    end
  else
    local seen = {}
    for i = 1, n do
      if seen[keys[i]] then invalid('KEYS', 'different keys (' .. keys[i] .. ' repeats)') end
      seen[keys[i]] = true
    end
  end
  return tag
end
