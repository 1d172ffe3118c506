--[[
  Which of the given event ids an entity has seen already (SPEC R7): remembered in its seen set,
  or still waiting in its pending list.

  KEYS[1] seen ids (zset)      KEYS[2] pending events (list)
  ARGV    the ids to check
  Returns one 0/1 per id.

  A pending entry is "<received_at: 13 digits><id>\0<event>"; the id is read without decoding.
]]
local found = {}
local missing = 0
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    found[i] = 1
  else
    found[i] = 0
    missing = missing + 1
  end
end
if missing > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  local wanted = {}
  for i = 1, #ARGV do
    if found[i] == 0 then wanted[ARGV[i]] = i end
  end
  local entries = redis.call('LRANGE', KEYS[2], 0, -1)
  for _, entry in ipairs(entries) do
    local stop = string.find(entry, '\0', 14, true)
    if stop then
      local index = wanted[string.sub(entry, 14, stop - 1)]
      if index then found[index] = 1 end
    end
  end
end
return found
