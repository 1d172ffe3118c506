--[[
  Applies one entity's decided changes for a batch, atomically, if its state is still the
  version the decision was made on (a compare-and-set: a zombie consumer, a concurrent writer
  from another partition, or a script that ioredis re-sent after a reconnect all find another
  version and change nothing).

  KEYS[1] state (hash)   KEYS[2] pending (list)   KEYS[3] seen ids (zset)   KEYS[4] outbox (hash)

  ARGV, in order (counts first, then their items):
    expected version, new version
    state expire-at: ms since epoch, or -1 to keep the state forever (a binding), or 0 to leave it
    n, then n field/value pairs to HSET on the state (applied offsets, binding, window)
    m, then m fields to HDEL from the state
    pending mode: "none" | "append" | "replace", k, then k entries
    pending trim cutoff (ms; entries received before it are dropped from the front on append)
    pending expire-at (ms since epoch, 0 = leave)
    s, then s score/id pairs to add to the seen ids
    seen trim cutoff (ms; ids received before it are forgotten), seen expire-at (ms, 0 = leave)
    x, then x field/value pairs to HSET on the outbox
    outbox cleanup: partition, committed offset (outbox entries of that partition below it were
      published in a committed Kafka transaction and can go), or "-" for none

  Returns 1 when applied, 0 when the version did not match.
]]
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local i = 1
local function take()
  local value = ARGV[i]
  i = i + 1
  return value
end

if current ~= tonumber(take()) then
  return 0
end
local newVersion = take()
local stateExpireAt = tonumber(take())

local fields = { 'v', newVersion }
local n = tonumber(take())
for _ = 1, n do
  fields[#fields + 1] = take()
  fields[#fields + 1] = take()
end
redis.call('HSET', KEYS[1], unpack(fields))

local m = tonumber(take())
if m > 0 then
  local gone = {}
  for _ = 1, m do gone[#gone + 1] = take() end
  redis.call('HDEL', KEYS[1], unpack(gone))
end
-- An anonymous id that never gets bound must not leave its state behind forever.
if stateExpireAt > 0 then
  redis.call('PEXPIREAT', KEYS[1], stateExpireAt)
elseif stateExpireAt < 0 then
  redis.call('PERSIST', KEYS[1])
end

local mode = take()
local k = tonumber(take())
local entries = {}
for _ = 1, k do entries[#entries + 1] = take() end
local trimCutoff = tonumber(take())
local pendingExpireAt = tonumber(take())
if mode == 'replace' then
  redis.call('DEL', KEYS[2])
end
for start = 1, #entries, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(entries, start, math.min(start + 999, #entries)))
end

if mode == 'append' and trimCutoff > 0 then
  -- Entries are in arrival order, so the expired ones are at the front (SPEC R1 retention).
  while true do
    local head = redis.call('LINDEX', KEYS[2], 0)
    if not head or tonumber(string.sub(head, 1, 13)) >= trimCutoff then break end
    redis.call('LPOP', KEYS[2])
  end
end
if pendingExpireAt > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIREAT', KEYS[2], pendingExpireAt)
end

-- Lua's unpack is limited by its stack, so long lists go in chunks.
local function chunked(command, key, list)
  for start = 1, #list, 1000 do
    redis.call(command, key, unpack(list, start, math.min(start + 999, #list)))
  end
end

local s = tonumber(take())
local seenPairs = {}
for _ = 1, s do
  seenPairs[#seenPairs + 1] = take()
  seenPairs[#seenPairs + 1] = take()
end
chunked('ZADD', KEYS[3], seenPairs)
local seenCutoff = tonumber(take())
local seenExpireAt = tonumber(take())
if seenCutoff > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. seenCutoff)
end
if seenExpireAt > 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('PEXPIREAT', KEYS[3], seenExpireAt)
end

local x = tonumber(take())
local out = {}
for _ = 1, x do
  out[#out + 1] = take()
  out[#out + 1] = take()
end
chunked('HSET', KEYS[4], out)
if x > 0 then
  -- Cleared after each committed Kafka transaction; the expiry only catches what a crash left.
  redis.call('PEXPIRE', KEYS[4], 7 * 24 * 3600 * 1000)
end
local cleanPartition = take()
if cleanPartition ~= '-' then
  local below = tonumber(take())
  local prefix = cleanPartition .. ':'
  for _, field in ipairs(redis.call('HKEYS', KEYS[4])) do
    if string.sub(field, 1, #prefix) == prefix and tonumber(string.sub(field, #prefix + 1)) < below then
      redis.call('HDEL', KEYS[4], field)
    end
  end
end
return 1
