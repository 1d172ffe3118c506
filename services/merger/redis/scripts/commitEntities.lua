--[[
  Applies the decided changes of a batch's entities (one call per batch; one per slot in a Redis
  Cluster, see slotRouting.ts), each atomically
  and only if its state is still the version the decision was made on: a compare-and-set per
  entity. A zombie consumer, a writer from another partition, or a call that ioredis re-sent
  after a reconnect finds another version and changes nothing for that entity; the caller loads
  those again and decides again.

  KEYS  four per entity: state (hash), pending (list), seen ids (zset), outbox (hash)
  ARGV[1]  one MessagePack array holding, per entity in KEYS order:
          expected version, new version,
          state expire-at: ms since epoch, or -1 to keep it forever (a binding), or 0 to leave it
          n, then n field/value pairs to HSET on the state (applied offsets, binding, window)
          m, then m fields to HDEL from the state
          pending mode "none" | "append" | "replace", k, then k entries
          pending trim cutoff (ms; entries received before it leave the front on append), and
          pending expire-at (ms, 0 = leave)
          s, then s score/id pairs for the seen ids; seen trim cutoff; seen expire-at
          x, then x field/value pairs for the outbox
          outbox clean-up: partition and committed offset (entries of that partition below it
            were published), or "-"
  Returns one 1 (applied) or 0 (version moved) per entity.
]]
local args = cmsgpack.unpack(ARGV[1])
local a = 1
local function take()
  local value = args[a]
  a = a + 1
  return value
end

-- Lua's unpack is limited by its stack, so long lists go in chunks.
local function chunked(command, key, list)
  for start = 1, #list, 1000 do
    redis.call(command, key, unpack(list, start, math.min(start + 999, #list)))
  end
end

local function applyOne(stateKey, pendingKey, seenKey, outboxKey)
  local current = tonumber(redis.call('HGET', stateKey, 'v') or '0')
  local expected = tonumber(take())
  local newVersion = take()
  local stateExpireAt = tonumber(take())
  local fields = { 'v', newVersion }
  for _ = 1, tonumber(take()) do
    fields[#fields + 1] = take()
    fields[#fields + 1] = take()
  end
  local gone = {}
  for _ = 1, tonumber(take()) do gone[#gone + 1] = take() end
  local mode = take()
  local entries = {}
  for _ = 1, tonumber(take()) do entries[#entries + 1] = take() end
  local trimCutoff = tonumber(take())
  local pendingExpireAt = tonumber(take())
  local seenPairs = {}
  for _ = 1, tonumber(take()) do
    seenPairs[#seenPairs + 1] = take()
    seenPairs[#seenPairs + 1] = take()
  end
  local seenCutoff = tonumber(take())
  local seenExpireAt = tonumber(take())
  local out = {}
  for _ = 1, tonumber(take()) do
    out[#out + 1] = take()
    out[#out + 1] = take()
  end
  local cleanPartition = take()
  local cleanBelow = nil
  if cleanPartition ~= '-' then cleanBelow = tonumber(take()) end

  -- Every argument is read before deciding, so the next entity's start where they should.
  if current ~= expected then return 0 end

  redis.call('HSET', stateKey, unpack(fields))
  if #gone > 0 then redis.call('HDEL', stateKey, unpack(gone)) end
  -- An anonymous id that never gets bound must not leave its state behind forever.
  if stateExpireAt > 0 then
    redis.call('PEXPIREAT', stateKey, stateExpireAt)
  elseif stateExpireAt < 0 then
    redis.call('PERSIST', stateKey)
  end

  if mode == 'replace' then redis.call('DEL', pendingKey) end
  chunked('RPUSH', pendingKey, entries)
  if mode == 'append' and trimCutoff > 0 then
    -- Entries are in arrival order, so the expired ones are at the front (SPEC R1 retention).
    while true do
      local head = redis.call('LINDEX', pendingKey, 0)
      if not head or tonumber(string.sub(head, 1, 13)) >= trimCutoff then break end
      redis.call('LPOP', pendingKey)
    end
  end
  if pendingExpireAt > 0 and #entries > 0 then redis.call('PEXPIREAT', pendingKey, pendingExpireAt) end

  chunked('ZADD', seenKey, seenPairs)
  if seenCutoff > 0 then redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. seenCutoff) end
  if seenExpireAt > 0 and #seenPairs > 0 then redis.call('PEXPIREAT', seenKey, seenExpireAt) end

  chunked('HSET', outboxKey, out)
  if #out > 0 then
    -- Cleared after each committed Kafka transaction; the expiry only catches what a crash left.
    redis.call('PEXPIRE', outboxKey, 7 * 24 * 3600 * 1000)
  end
  if cleanBelow then
    local prefix = cleanPartition .. ':'
    for _, field in ipairs(redis.call('HKEYS', outboxKey)) do
      if string.sub(field, 1, #prefix) == prefix and tonumber(string.sub(field, #prefix + 1)) < cleanBelow then
        redis.call('HDEL', outboxKey, field)
      end
    end
  end
  return 1
end

local applied = {}
for e = 0, (#KEYS / 4) - 1 do
  applied[e + 1] = applyOne(KEYS[e * 4 + 1], KEYS[e * 4 + 2], KEYS[e * 4 + 3], KEYS[e * 4 + 4])
end
return applied
