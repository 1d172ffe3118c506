--[[
  Records that a batch of a partition is applied: its last offset (the watermark a restart
  resumes from) and the partition's event time.

  KEYS[1] partition state (hash)
  ARGV[1] the epoch this consumer claimed
  ARGV[2] the watermark this consumer last wrote (or found when it claimed)
  ARGV[3] last applied offset   ARGV[4] event time (ms)
  Returns 1 when written;
          0 when another consumer claimed the partition since (a zombie's write is refused);
          2 when Redis lost writes since this consumer's last one (restarted and rolled back, or
            emptied): nothing is written, and the caller claims the partition again.
]]
local epoch = tonumber(redis.call('HGET', KEYS[1], 'e') or '0')
local mine = tonumber(ARGV[1])
if epoch > mine then
  return 0
end
local watermark = tonumber(redis.call('HGET', KEYS[1], 'w') or '-1')
if epoch < mine or watermark < tonumber(ARGV[2]) then
  return 2
end
if tonumber(ARGV[3]) > watermark then
  redis.call('HSET', KEYS[1], 'w', ARGV[3])
end
local eventTime = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if tonumber(ARGV[4]) > eventTime then
  redis.call('HSET', KEYS[1], 't', ARGV[4])
end
return 1
