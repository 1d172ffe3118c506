--[[
  After a data-plane batch's Kafka transaction committed, the grace timers it fired leave the
  partition's timer index — each only if it still holds the window end that fired: a re-identify
  in the same or a later in-flight batch may have armed the id's timer again, at another end, and
  that one must stay (issue 13, defect 3).

  KEYS[1]  the partition's timer index (sorted set: member = workspace + anonymous id, score = window end)
  ARGV     pairs: member, window end that fired (a member may come with several ends)
  Returns the number of entries removed.
]]
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
