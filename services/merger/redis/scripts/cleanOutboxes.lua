--[[
  After a batch's Kafka transaction committed, its outbox entries are no longer needed.

  KEYS  one outbox (hash) per entity
  ARGV  per entity, in KEYS order: n, then n fields to delete
]]
local a = 1
for e = 1, #KEYS do
  local n = tonumber(ARGV[a])
  if n > 0 then redis.call('HDEL', KEYS[e], unpack(ARGV, a + 1, a + n)) end
  a = a + 1 + n
end
return #KEYS
