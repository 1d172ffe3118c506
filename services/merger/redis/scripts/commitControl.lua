--[[
  Stores what a batch of person operations changed in one workspace's control state
  (services/merger/ordered/controlReads.ts), atomically and only if the state is still the version
  the batch was decided on: a zombie consumer, or a call that ioredis re-sent after a reconnect,
  finds another version and changes nothing; the caller loads again and decides again.

  KEYS[1]  state hash: "v" version, "a" the (received_at, id) of the last operation applied
  KEYS[2]  bindings hash: anonymous id → person key
  KEYS[3]  merged-into hash: person key → primary's person key
  KEYS[4]  outbox hash: operation stamp → its encoded outputs, until they are published
  KEYS[5…] the sets written whole: a person's anonymous ids, or the keys merged into a person
  ARGV     expected version, new version, applied stamp, outbox expiry (ms),
           nb, then nb pairs (anonymous id, person key or "" to unbind),
           nm, then nm pairs (person key, primary's key or "" to remove),
           no, then no pairs (operation stamp, encoded outputs),
           then per set in KEYS order: count, then its members (count 0 removes the set)
  Returns 1 (stored) or 0 (the version had moved).
]]
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end

local a = 5
local function pairsInto(key)
  local n = tonumber(ARGV[a]); a = a + 1
  for _ = 1, n do
    local field, value = ARGV[a], ARGV[a + 1]; a = a + 2
    if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
  end
  return n
end
pairsInto(KEYS[2])
pairsInto(KEYS[3])
-- The outbox outlives a crash between this write and the Kafka transaction, not much longer:
-- entries are deleted once published; the expiry only bounds what a crash after that leaves.
if pairsInto(KEYS[4]) > 0 then redis.call('PEXPIRE', KEYS[4], ARGV[4]) end

for k = 5, #KEYS do
  local n = tonumber(ARGV[a]); a = a + 1
  redis.call('DEL', KEYS[k])
  -- SADD in chunks: Lua's unpack is limited by its stack, and a person may hold many ids.
  for start = a, a + n - 1, 1000 do
    redis.call('SADD', KEYS[k], unpack(ARGV, start, math.min(start + 999, a + n - 1)))
  end
  a = a + n
end

redis.call('HSET', KEYS[1], 'v', ARGV[2], 'a', ARGV[3])
return 1
