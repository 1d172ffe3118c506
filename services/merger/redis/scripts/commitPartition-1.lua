--[[
  Records that a batch of a partition is applied: its last offset (the watermark a restart
  resumes from) and the partition's event time (the latest received_at seen, which fires grace
  timers). Refused when another consumer claimed the partition since (a zombie's write).

  KEYS[1] partition state (hash)
  ARGV[1] the epoch this consumer claimed   ARGV[2] last applied offset   ARGV[3] event time (ms)
  Returns 1 when written, 0 when fenced.
]]
if redis.call('HGET', KEYS[1], 'e') ~= ARGV[1] then
  return 0
end
local watermark = tonumber(redis.call('HGET', KEYS[1], 'w') or '-1')
if tonumber(ARGV[2]) > watermark then
  redis.call('HSET', KEYS[1], 'w', ARGV[2])
end
local eventTime = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if tonumber(ARGV[3]) > eventTime then
  redis.call('HSET', KEYS[1], 't', ARGV[3])
end
return 1
