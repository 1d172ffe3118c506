--[[
  Applies the decided changes of a batch's entities (one call per batch; one per slot in a Redis
  Cluster, see slotRouting.ts), each atomically and only if its state is still the version the
  decision was made on: a compare-and-set per entity. A zombie consumer, a writer from another
  partition, or a call that ioredis re-sent after a reconnect finds another version and changes
  nothing for that entity; the caller loads those again and decides again.

  KEYS  three per entity: state (hash), pending (list), seen ids (zset)
  ARGV[1]  one MessagePack array holding, per entity in KEYS order:
          expected version, new version,
          state expire-at: ms since epoch, or -1 to keep it forever (a binding), or 0 to leave it
          n, then n field/value pairs to HSET on the state (applied offsets, binding, window, and
            the outbox entries "x:<partition>:<offset>" of the operations applied now)
          m, then m fields to HDEL from the state (among them outbox entries already published)
          pending mode "none" | "append" | "replace", k, then k entries
          pending trim cutoff (ms; entries received before it leave the front on append), and
          pending expire-at (ms, 0 = leave)
          s, then s score/id pairs for the seen ids; seen trim cutoff; seen expire-at
  Returns one 1 (applied) or 0 (version moved) per entity.
]]
local args = cmsgpack.unpack(ARGV[1])
local a = 1

local function take()
  local value = args[a]
  a = a + 1
  return value
end

-- The next `count` arguments, appended to `list`.
local function takeInto(list, count)
  local base = #list
  for i = 1, count do list[base + i] = args[a + i - 1] end
  a = a + count
  return list
end

-- Lua's unpack is limited by its stack, so long lists go in chunks. Returns the last reply.
local function chunked(command, key, list)
  local reply = nil
  for start = 1, #list, 1000 do
    reply = redis.call(command, key, unpack(list, start, math.min(start + 999, #list)))
  end
  return reply
end

local function applyOne(stateKey, pendingKey, seenKey)
  local expected = tonumber(take())
  local fields = { 'v', take() }
  local stateExpireAt = tonumber(take())
  takeInto(fields, tonumber(take()) * 2)
  local gone = takeInto({}, tonumber(take()))
  local mode = take()
  local entries = takeInto({}, tonumber(take()))
  local trimCutoff = tonumber(take())
  local pendingExpireAt = tonumber(take())
  local seenPairs = takeInto({}, tonumber(take()) * 2)
  local seenCutoff = tonumber(take())
  local seenExpireAt = tonumber(take())

  -- Every argument is read before deciding, so the next entity's start where they should.
  local current = tonumber(redis.call('HGET', stateKey, 'v') or '0')
  if current ~= expected then return 0 end

  chunked('HSET', stateKey, fields)
  if #gone > 0 then chunked('HDEL', stateKey, gone) end
  -- An anonymous id that never gets bound must not leave its state behind forever.
  if stateExpireAt > 0 then
    redis.call('PEXPIREAT', stateKey, stateExpireAt)
  elseif stateExpireAt < 0 then
    redis.call('PERSIST', stateKey)
  end

  if mode == 'replace' then redis.call('DEL', pendingKey) end
  local length = chunked('RPUSH', pendingKey, entries)
  -- Entries are in arrival order, so the expired ones are at the front (SPEC R1 retention). A list
  -- that held nothing before this append, and whose first new entry is recent enough, has
  -- nothing to trim: no look at its head.
  local olderEntries = length and length > #entries
  if mode == 'append' and trimCutoff > 0 and #entries > 0 and (olderEntries or tonumber(string.sub(entries[1], 1, 13)) < trimCutoff) then
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
  return 1
end

local applied = {}
for e = 0, (#KEYS / 3) - 1 do
  applied[e + 1] = applyOne(KEYS[e * 3 + 1], KEYS[e * 3 + 2], KEYS[e * 3 + 3])
end
return applied
