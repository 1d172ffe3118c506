--[[
  Everything a batch needs to know about its entities, in one call (one per slot in a Redis
  Cluster, where declared keys must share a slot; see slotRouting.ts).

  KEYS  three per entity: state (hash), pending (list), seen ids (zset)
  ARGV[1]  one MessagePack array holding, per entity in KEYS order:
          1 when its pending events are needed (an identify among its operations), else 0
          n, then n event ids to check against the seen ids and the pending list (SPEC R7)
          m, then m operation positions "<partition>:<offset>"
  Returns per entity 0 when it has no state yet, else { state as field/value pairs (outbox
  fields left out), pending entries (or {}), one 0/1 per id, outbox position/value pairs of the
  positions already applied (at or below the entity's marker for their partition: a replay), the
  positions of every outbox entry the state holds (so that the commit can delete those already
  published) }.

  The outbox lives in the state hash as "x:<partition>:<offset>" fields: written by the same
  HSET as the state, and gone with it.
  A pending entry is "<received_at: 13 digits><id>\0<event>"; its id is read without decoding.
]]
local args = cmsgpack.unpack(ARGV[1])

-- The answer for an entity that has a state (see the header).
local function loadKnown(hash, pendingKey, seenKey, wantPending, n, firstId, m, firstPosition)
  local state, applied, outboxValues, outboxPositions = {}, {}, {}, {}
  for i = 1, #hash, 2 do
    local field = hash[i]
    local kind = string.sub(field, 1, 2)
    if kind == 'x:' then
      local position = string.sub(field, 3)
      outboxValues[position] = hash[i + 1]
      outboxPositions[#outboxPositions + 1] = position
    else
      state[#state + 1] = field
      state[#state + 1] = hash[i + 1]
      if kind == 'o:' then applied[string.sub(field, 3)] = tonumber(hash[i + 1]) end
    end
  end

  local pending = {}
  if wantPending then pending = redis.call('LRANGE', pendingKey, 0, -1) end
  local flags = {}
  local missing = nil
  -- In chunks: Lua's unpack is limited by its stack.
  for start = 1, n, 1000 do
    local stop = math.min(start + 999, n)
    local scores = redis.call('ZMSCORE', seenKey, unpack(args, firstId + start - 1, firstId + stop - 1))
    for i = start, stop do
      if scores[i - start + 1] then
        flags[i] = 1
      else
        flags[i] = 0
        missing = missing or {}
        missing[args[firstId + i - 1]] = i
      end
    end
  end
  if missing then
    local scanned = wantPending and pending or redis.call('LRANGE', pendingKey, 0, -1)
    for _, entry in ipairs(scanned) do
      local stop = string.find(entry, '\0', 14, true)
      if stop then
        local index = missing[string.sub(entry, 14, stop - 1)]
        if index then flags[index] = 1 end
      end
    end
  end

  -- Replays: positions at or below the entity's applied offset of their partition.
  local outbox = {}
  for i = firstPosition, firstPosition + m - 1 do
    local position = args[i]
    local colon = string.find(position, ':', 1, true)
    local marker = applied[string.sub(position, 1, colon - 1)]
    if marker and tonumber(string.sub(position, colon + 1)) <= marker then
      local value = outboxValues[position]
      if value then
        outbox[#outbox + 1] = position
        outbox[#outbox + 1] = value
      end
    end
  end
  return { state, pending, flags, outbox, outboxPositions }
end

local result = {}
local a = 1
for e = 0, (#KEYS / 3) - 1 do
  local stateKey, pendingKey, seenKey = KEYS[e * 3 + 1], KEYS[e * 3 + 2], KEYS[e * 3 + 3]
  local wantPending = args[a] == '1'
  local n = tonumber(args[a + 1])
  local firstId = a + 2
  a = a + 2 + n
  local m = tonumber(args[a])
  local firstPosition = a + 1
  a = a + 1 + m

  local hash = redis.call('HGETALL', stateKey)
  if #hash == 0 then
    -- A new entity: its pending list and seen ids are written with its state and never outlive
    -- it (their expiries are at most the state's), so there is nothing to look up, and nothing
    -- to answer but 0 (most entities of a batch are new anonymous ids).
    result[e + 1] = 0
  else
    result[e + 1] = loadKnown(hash, pendingKey, seenKey, wantPending, n, firstId, m, firstPosition)
  end
end
return result
