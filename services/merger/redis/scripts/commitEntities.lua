--[[
  Applies the decided changes of a batch's entities (one call per batch; one per slot in a Redis
  Cluster, see slotRouting.ts), each atomically and only if its state is still the version the
  decision was made on: a compare-and-set per entity. A zombie consumer, a writer from another
  partition, or a call that ioredis re-sent after a reconnect finds another version and changes
  nothing for that entity; the caller loads those again and decides again.

  KEYS  four per entity: state (hash), pending (list), seen ids (zset), and the stripe of its
        compact record (keys.ts; the state key again when it has none)
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
          the compact record's field ('' when the entity has none to check), and the record
          expected there ('' = none): a first write of an anonymous id's own keys is applied only
          if its record is still that one, and deletes it (redis/orderedEntityStore.ts)
  Returns one 1 (applied) or 0 (version moved) per entity.
]]
local args = cmsgpack.unpack(ARGV[1])
local a = 1

--@include "compactBuckets"

-- Calls `command key [h1 h2] args[from..to]`, in chunks of 1000 arguments (Lua's unpack is
-- limited by its stack; 1000 is even, so field/value and score/member pairs stay whole). The
-- arguments are passed straight from the unpacked array: no list is built per entity.
-- Returns the last reply.
local function callRange(command, key, from, to, h1, h2)
  if to < from then
    if h1 then return redis.call(command, key, h1, h2) end
    return nil
  end
  local reply = nil
  for start = from, to, 1000 do
    local stop = math.min(start + 999, to)
    if h1 and start == from then
      reply = redis.call(command, key, h1, h2, unpack(args, start, stop))
    else
      reply = redis.call(command, key, unpack(args, start, stop))
    end
  end
  return reply
end

local function applyOne(stateKey, pendingKey, seenKey, stripeKey)
  -- Where this entity's arguments are; every one is located before deciding, so the next
  -- entity's start where they should.
  local expected = tonumber(args[a])
  local newVersion = args[a + 1]
  local stateExpireAt = tonumber(args[a + 2])
  local setFrom = a + 4
  local setTo = setFrom + tonumber(args[a + 3]) * 2 - 1
  a = setTo + 1
  local goneFrom = a + 1
  local goneTo = goneFrom + tonumber(args[a]) - 1
  a = goneTo + 1
  local mode = args[a]
  local entriesFrom = a + 2
  local entriesTo = entriesFrom + tonumber(args[a + 1]) - 1
  a = entriesTo + 1
  local trimCutoff = tonumber(args[a])
  local pendingExpireAt = tonumber(args[a + 1])
  local seenFrom = a + 3
  local seenTo = seenFrom + tonumber(args[a + 2]) * 2 - 1
  a = seenTo + 1
  local seenCutoff = tonumber(args[a])
  local seenExpireAt = tonumber(args[a + 1])
  local recordField, recordExpected = args[a + 2], args[a + 3]
  a = a + 4

  local current = tonumber(redis.call('HGET', stateKey, 'v') or '0')
  if current ~= expected then return 0 end
  -- The id's compact record must still be the one the decision read (another writer may have
  -- appended to it); the own keys replace it in this same call.
  if recordField ~= '' then
    local bucket = bucketOf(stripeKey, bucketCount(stripeKey), recordField)
    if (redis.call('HGET', bucket, recordField) or '') ~= recordExpected then return 0 end
    if recordExpected ~= '' then redis.call('HDEL', bucket, recordField) end
  end

  callRange('HSET', stateKey, setFrom, setTo, 'v', newVersion)
  callRange('HDEL', stateKey, goneFrom, goneTo)
  -- An anonymous id that never gets bound must not leave its state behind forever.
  if stateExpireAt > 0 then
    redis.call('PEXPIREAT', stateKey, stateExpireAt)
  elseif stateExpireAt < 0 then
    redis.call('PERSIST', stateKey)
  end

  if mode == 'replace' then redis.call('DEL', pendingKey) end
  local entryCount = entriesTo - entriesFrom + 1
  local length = callRange('RPUSH', pendingKey, entriesFrom, entriesTo)
  -- Entries are in arrival order, so the expired ones are at the front (SPEC R1 retention). A list
  -- that held nothing before this append, and whose first new entry is recent enough, has
  -- nothing to trim: no look at its head.
  local olderEntries = length and length > entryCount
  if mode == 'append' and trimCutoff > 0 and entryCount > 0 and (olderEntries or tonumber(string.sub(args[entriesFrom], 1, 13)) < trimCutoff) then
    while true do
      local head = redis.call('LINDEX', pendingKey, 0)
      if not head or tonumber(string.sub(head, 1, 13)) >= trimCutoff then break end
      redis.call('LPOP', pendingKey)
    end
  end
  if pendingExpireAt > 0 and entryCount > 0 then redis.call('PEXPIREAT', pendingKey, pendingExpireAt) end

  callRange('ZADD', seenKey, seenFrom, seenTo)
  if seenCutoff > 0 then redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', '(' .. seenCutoff) end
  if seenExpireAt > 0 and seenTo >= seenFrom then redis.call('PEXPIREAT', seenKey, seenExpireAt) end
  return 1
end

local applied = {}
for e = 0, (#KEYS / 4) - 1 do
  applied[e + 1] = applyOne(KEYS[e * 4 + 1], KEYS[e * 4 + 2], KEYS[e * 4 + 3], KEYS[e * 4 + 4])
end
return applied
