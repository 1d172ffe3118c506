--[[
  Moves a partition's watermark back (used only when Redis lost writes and the merger must
  re-apply records it had applied before), if the caller still holds the partition.

  KEYS[1] partition state (hash)   ARGV[1] epoch   ARGV[2] new watermark
  Returns 1 when written, 0 when fenced.
]]
if redis.call('HGET', KEYS[1], 'e') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'w', ARGV[2])
return 1
