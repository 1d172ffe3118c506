--[[
  A consumer that was just assigned a partition claims it: the partition's epoch goes up, so
  that the previous owner, if it is still running (a paused process that lost its session),
  has its next partition write refused (commitPartition checks the epoch).

  KEYS[1] partition state (hash)
  Returns { epoch, watermark (-1 when none), event time (0 when none) }.
]]
local epoch = redis.call('HINCRBY', KEYS[1], 'e', 1)
local watermark = redis.call('HGET', KEYS[1], 'w') or '-1'
local eventTime = redis.call('HGET', KEYS[1], 't') or '0'
return { epoch, watermark, eventTime }
