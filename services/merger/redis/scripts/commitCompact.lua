--[[
  Writes or deletes the compact records of a batch's anonymous ids (redis/compactRecord.ts,
  redis/compactForm.ts), each only if it is still the record the decision was made on — a
  compare-and-set on the whole value, as commitEntities.lua sets one on the version of an
  entity's own keys. One call per batch (one per slot in a Redis Cluster: a record's stripe is
  in its id's slot, keys.ts).

  KEYS  two per entity: its state hash, and the stripe of its compact record
  ARGV[1]  one MessagePack array: now (ms), the most fields a bucket should hold, then per
          entity in KEYS order:
          'w' (write) or 'd' (delete), the field, the value expected ('' = none), the new value
          ('' for 'd'), and the record's expiry (ms; '0' for 'd')
  Returns one 1 (done) or 0 (the record, or the id's own keys, moved) per entity.

  A write is refused when the id has its own keys (a state hash): those are its state from
  then on (loadOrdered.lua). Buckets and stripe keys expire after the last record written to
  them; a record that expires before its bucket is swept out by the first write to that bucket
  each day.
]]
local args = cmsgpack.unpack(ARGV[1])

--@include "compactBuckets"

local now = tonumber(args[1])
local most = tonumber(args[2])
local DAY_MS = 86400000
local HOUR_MS = 3600000

-- Moves a key's expiry later, never earlier (a bucket lives as long as its longest record).
local function extendTo(key, at)
  local current = redis.call('PEXPIRETIME', key)
  if current == -1 or (current >= 0 and current < at) then redis.call('PEXPIREAT', key, at) end
end

-- Drops the bucket's expired records, once a day per bucket (the field '' holds the day).
local function sweep(bucket)
  local today = math.floor(now / DAY_MS)
  if tonumber(redis.call('HGET', bucket, '') or '0') >= today then return end
  local all = redis.call('HGETALL', bucket)
  for i = 1, #all, 2 do
    local field, value = all[i], all[i + 1]
    if field ~= '' then
      -- Bytes 1–3: the format in the top 3 bits, the expiry hour in the other 21 (compactRecord.ts).
      local h1, h2, h3 = string.byte(value, 1, 3)
      if (((h1 % 32) * 256 + h2) * 256 + h3) * HOUR_MS <= now then redis.call('HDEL', bucket, field) end
    end
  end
  redis.call('HSET', bucket, '', today)
end

-- Adds one bucket to the stripe: the bucket at the split pointer gives the new one the records
-- whose hash says so (compactBuckets.lua).
local function split(stripe)
  local n = bucketCount(stripe)
  local p = lowerPower(n)
  local s = n - p
  local from, to = stripe .. '|' .. s, stripe .. '|' .. n
  local all = redis.call('HGETALL', from)
  for i = 1, #all, 2 do
    local field = all[i]
    if field ~= '' and fieldHash(field) % (2 * p) == s + p then
      redis.call('HSET', to, field, all[i + 1])
      redis.call('HDEL', from, field)
    end
  end
  local expiry = redis.call('PEXPIRETIME', from)
  if expiry > 0 and redis.call('EXISTS', to) == 1 then redis.call('PEXPIREAT', to, expiry) end
  -- The stripe key outlives its buckets: made now with the only bucket's expiry, moved on by writes.
  if redis.call('EXISTS', stripe) == 1 then
    redis.call('SET', stripe, n + 1, 'KEEPTTL')
  elseif expiry > 0 then
    redis.call('SET', stripe, n + 1, 'PXAT', expiry)
  else
    redis.call('SET', stripe, n + 1)
  end
  stripeSizes[stripe] = n + 1
end

-- A batch's records share buckets: each bucket touched is swept, has its expiry moved and is
-- split once, after the writes (addresses stay as they were during the loop).
local touched, order = {}, {}
local stripeOf = {}

local result = {}
local a = 3
for e = 0, (#KEYS / 2) - 1 do
  local stateKey, stripe = KEYS[e * 2 + 1], KEYS[e * 2 + 2]
  local op, field, expected, value, expireAt = args[a], args[a + 1], args[a + 2], args[a + 3], tonumber(args[a + 4])
  a = a + 5
  local bucket = bucketOf(stripe, bucketCount(stripe), field)
  local current = redis.call('HGET', bucket, field) or ''
  if current ~= expected then
    result[e + 1] = 0
  elseif op == 'd' then
    if current ~= '' then redis.call('HDEL', bucket, field) end
    result[e + 1] = 1
  elseif redis.call('EXISTS', stateKey) == 1 then
    result[e + 1] = 0
  elseif expireAt <= now then
    -- Expired as it is written (a rebuild of old records): no state, as an own key would be gone.
    if current ~= '' then redis.call('HDEL', bucket, field) end
    result[e + 1] = 1
  else
    redis.call('HSET', bucket, field, value)
    if not touched[bucket] then
      touched[bucket] = expireAt
      order[#order + 1] = bucket
      stripeOf[bucket] = stripe
    elseif touched[bucket] < expireAt then
      touched[bucket] = expireAt
    end
    result[e + 1] = 1
  end
end

local stripeExpiry, stripes = {}, {}
for _, bucket in ipairs(order) do
  local expireAt, stripe = touched[bucket], stripeOf[bucket]
  extendTo(bucket, expireAt)
  sweep(bucket)
  if not stripeExpiry[stripe] then
    stripeExpiry[stripe] = expireAt
    stripes[#stripes + 1] = stripe
  elseif stripeExpiry[stripe] < expireAt then
    stripeExpiry[stripe] = expireAt
  end
end
for _, stripe in ipairs(stripes) do
  if redis.call('EXISTS', stripe) == 1 then extendTo(stripe, stripeExpiry[stripe]) end
end
for _, bucket in ipairs(order) do
  local stripe = stripeOf[bucket]
  -- Splits move records between buckets: a bucket named before may have moved on since.
  if redis.call('HLEN', bucket) > most then
    split(stripe)
    -- An unlucky bucket may stay full while the split pointer works elsewhere: split on, a little.
    for _ = 1, 16 do
      if redis.call('HLEN', bucket) <= 2 * most then break end
      split(stripe)
    end
  end
end
return result
