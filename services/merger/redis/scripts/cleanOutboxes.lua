--[[
  After a batch's Kafka transaction committed, its outbox entries are no longer needed.

  KEYS  one state hash per entity (the outbox entries are its "x:<partition>:<offset>" fields)
  ARGV[1]  one MessagePack array holding, per entity in KEYS order: n, then n fields to delete
]]
local args = cmsgpack.unpack(ARGV[1])
local a = 1
for e = 1, #KEYS do
  local n = tonumber(args[a])
  -- In chunks: Lua's unpack is limited by its stack.
  for start = a + 1, a + n, 1000 do
    redis.call('HDEL', KEYS[e], unpack(args, start, math.min(start + 999, a + n)))
  end
  a = a + 1 + n
end
return #KEYS
