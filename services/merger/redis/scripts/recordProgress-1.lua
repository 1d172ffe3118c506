--[[
  Records, in Redis beside the state, where a partition's consumer is about to commit its Kafka
  positions (two-plane merger; kafka/sequentialPartitions.ts). Written after the batch's entity
  writes and before its transaction: Redis keeps its writes in order (the AOF is a prefix), so if
  this record survives a loss, so did every state write before it.

  KEYS[1]  the partition's progress hash: "n" the number of records written, then per topic
           "o|<topic>" the offset and "m|<topic>" its metadata
  ARGV[1]  the count this consumer read at its claim or last wrote
  ARGV[2…] field, value pairs
  Returns the new count; or -1, writing nothing, when the hash holds another count: Redis lost
  writes since (restarted from an older state, a failover to a replica that lagged), or another
  consumer wrote it — either way the caller claims the partition again.
]]
local written = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if written ~= tonumber(ARGV[1]) then
  return -1
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'n', written + 1)
return written + 1
