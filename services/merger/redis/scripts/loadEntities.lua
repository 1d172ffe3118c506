--[[
  Everything a batch needs to know about its entities, in one call (one per slot in a Redis
  Cluster, where declared keys must share a slot; see slotRouting.ts).

  KEYS  four per entity: state (hash), pending (list), seen ids (zset), outbox (hash)
  ARGV  per entity, in KEYS order:
          1 when its pending events are needed (an identify among its operations), else 0
          n, then n event ids to check against the seen ids and the pending list (SPEC R7)
          m, then m operation positions "<partition>:<offset>"
  Returns per entity: { state as field/value pairs, pending entries (or {}), one 0/1 per id,
  outbox field/value pairs of the positions already applied (at or below the entity's marker
  for their partition: a replay) }.

  A pending entry is "<received_at: 13 digits><id>\0<event>"; its id is read without decoding.
]]
local result = {}
local a = 1
for e = 0, (#KEYS / 4) - 1 do
  local stateKey, pendingKey, seenKey, outboxKey = KEYS[e * 4 + 1], KEYS[e * 4 + 2], KEYS[e * 4 + 3], KEYS[e * 4 + 4]
  local wantPending = ARGV[a] == '1'
  local n = tonumber(ARGV[a + 1])
  local ids = {}
  for i = 1, n do ids[i] = ARGV[a + 1 + i] end
  a = a + 2 + n
  local m = tonumber(ARGV[a])
  local positions = {}
  for i = 1, m do positions[i] = ARGV[a + i] end
  a = a + 1 + m

  local state = redis.call('HGETALL', stateKey)
  local pending = {}
  local scanned = nil
  if wantPending then
    pending = redis.call('LRANGE', pendingKey, 0, -1)
    scanned = pending
  end

  local flags = {}
  local missing = {}
  for i = 1, n do
    if redis.call('ZSCORE', seenKey, ids[i]) then
      flags[i] = 1
    else
      flags[i] = 0
      missing[ids[i]] = i
    end
  end
  if next(missing) ~= nil then
    scanned = scanned or redis.call('LRANGE', pendingKey, 0, -1)
    for _, entry in ipairs(scanned) do
      local stop = string.find(entry, '\0', 14, true)
      if stop then
        local index = missing[string.sub(entry, 14, stop - 1)]
        if index then flags[index] = 1 end
      end
    end
  end

  -- Replays: positions at or below the entity's applied offset of their partition.
  local applied = {}
  for i = 1, #state, 2 do
    if string.sub(state[i], 1, 2) == 'o:' then applied[string.sub(state[i], 3)] = tonumber(state[i + 1]) end
  end
  local outbox = {}
  for i = 1, m do
    local colon = string.find(positions[i], ':', 1, true)
    local marker = applied[string.sub(positions[i], 1, colon - 1)]
    if marker and tonumber(string.sub(positions[i], colon + 1)) <= marker then
      local value = redis.call('HGET', outboxKey, positions[i])
      if value then
        outbox[#outbox + 1] = positions[i]
        outbox[#outbox + 1] = value
      end
    end
  end
  result[e + 1] = { state, pending, flags, outbox }
end
return result
