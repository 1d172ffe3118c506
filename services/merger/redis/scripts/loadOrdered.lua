--[[
  What a data-plane batch needs to know about its entities (redis/orderedEntityStore.ts), in one
  call (one per slot in a Redis Cluster; see slotRouting.ts). Most entities of a batch are
  anonymous ids seen for the first time: they cost one HMGET here and answer 0.

  KEYS  four per entity: state (hash), pending (list), seen ids (zset), and the stripe of its
        compact record (keys.ts; the key of another entity's kind is never read)
  ARGV[1]  one MessagePack array holding, per entity in KEYS order:
          1 when its pending events are needed (a bind among its items), else 0
          n, then n event ids whose first-seen received_at is needed (SPEC R7)
          m, then m outbox fields ("x:<position>") to read (replays)
          its compact record's field, or '' (not an anonymous id, or compact records off)
  Returns per entity 0 when it has no state yet; { 'c', record } when its state is a compact
  record (redis/compactForm.ts); else
    { version, ordered state (JSON) or false, pending entries (or {}), n scores (false: not
      seen), m outbox values (false: none) }.

  An entity's pending list and seen ids are written with its state and never outlive it (their
  expiries are at most the state's), so an entity with no state has neither. An id has its own
  keys or a compact record, never both: the script that writes its own keys the first time
  deletes its record (commitEntities.lua), and a record is not written beside own keys
  (commitCompact.lua).

  The arguments are laid out as for loadEntities.lua, the legacy merger's load, which goes with
  the legacy merger once the two planes are the default.
]]
local args = cmsgpack.unpack(ARGV[1])

--@include "compactBuckets"

-- command(key, args[first], …, args[first + n - 1]), answers in one table: in chunks, because
-- Lua's unpack is limited by its stack.
local function chunked(command, key, first, n)
  local answers = {}
  for start = 0, n - 1, 1000 do
    local stop = math.min(start + 999, n - 1)
    local chunk = redis.call(command, key, unpack(args, first + start, first + stop))
    for i = start, stop do answers[i + 1] = chunk[i - start + 1] end
  end
  return answers
end

local result = {}
local a = 1
for e = 0, (#KEYS / 4) - 1 do
  local stateKey, pendingKey, seenKey, stripeKey = KEYS[e * 4 + 1], KEYS[e * 4 + 2], KEYS[e * 4 + 3], KEYS[e * 4 + 4]
  local wantPending = args[a] == '1'
  local n = tonumber(args[a + 1])
  local firstId = a + 2
  a = a + 2 + n
  local m = tonumber(args[a])
  local firstField = a + 1
  a = a + 1 + m
  local field = args[a]
  a = a + 1

  local head = redis.call('HMGET', stateKey, 'v', 'o')
  -- Every commit writes the version (commitEntities.lua).
  if not head[1] then
    local record = false
    if field ~= '' then record = redis.call('HGET', bucketOf(stripeKey, bucketCount(stripeKey), field), field) end
    if record then result[e + 1] = { 'c', record } else result[e + 1] = 0 end
  else
    local pending = {}
    if wantPending then pending = redis.call('LRANGE', pendingKey, 0, -1) end
    local scores = chunked('ZMSCORE', seenKey, firstId, n)
    local outbox = chunked('HMGET', stateKey, firstField, m)
    result[e + 1] = { head[1] or false, head[2] or false, pending, scores, outbox }
  end
end
return result
