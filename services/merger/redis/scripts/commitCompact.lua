--[[
  Writes the compact records of a batch's anonymous ids (redis/compactRecord.ts,
  redis/compactForm.ts), each only if it is still the record the decision was made on — a
  compare-and-set on the whole value, as commitEntities.lua sets one on the version of an
  entity's own keys. One call per batch (one per slot in a Redis Cluster: a record's stripe is
  in its id's slot, keys.ts).

  KEYS  two per entity: its state hash, and the stripe of its compact record
  ARGV[1]  one MessagePack array: the most records a bucket should hold, then per entity in KEYS
          order: the field, the value expected ('' = none), the new value, and its expiry (ms)
  Returns one 1 (written) or 0 (the record moved, or the id has its own keys) per entity.

  A write is refused when the id has its own keys (a state hash): those are its state from
  then on (loadOrdered.lua; commitEntities.lua deletes the record when it writes them). Buckets
  and stripe keys expire after the last record written to them; a record that expires before its
  bucket is swept out by the first write to that bucket each day. Time is the server's, as for
  the keys' expiries.
]]
local args = cmsgpack.unpack(ARGV[1])

--@include "compactBuckets"

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local most = tonumber(args[1])
local DAY_MS = 86400000
local HOUR_MS = 3600000

-- Moves a key's expiry later, never earlier (a bucket lives as long as its longest record).
local function extendTo(key, at)
  local current = redis.call('PEXPIRETIME', key)
  if current == -1 or (current >= 0 and current < at) then redis.call('PEXPIREAT', key, at) end
end

-- Drops the bucket's expired records, once a day per bucket (the field '' holds the day).
local function sweep(bucket)
  -- A bucket that went meanwhile (its records expired) is not made again for its marker alone.
  if redis.call('EXISTS', bucket) == 0 then return end
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

-- A batch's records share buckets and stripes: each bucket touched is swept once per call, and
-- each stripe's expiry moved once, after the writes.
local touched, order = {}, {}
local stripeExpiry, stripes = {}, {}

local result = {}
local a = 2
for e = 0, (#KEYS / 2) - 1 do
  local stateKey, stripe = KEYS[e * 2 + 1], KEYS[e * 2 + 2]
  local field, expected, value, expireAt = args[a], args[a + 1], args[a + 2], tonumber(args[a + 3])
  a = a + 4
  local bucket = bucketOf(stripe, bucketCount(stripe), field)
  local current = redis.call('HGET', bucket, field) or ''
  if current ~= expected or redis.call('EXISTS', stateKey) == 1 then
    result[e + 1] = 0
  elseif expireAt <= now then
    -- Expired as it is written (a rebuild of old records): no state, as an own key would be gone.
    if current ~= '' then redis.call('HDEL', bucket, field) end
    result[e + 1] = 1
  else
    redis.call('HSET', bucket, field, value)
    extendTo(bucket, expireAt)
    if not touched[bucket] then
      touched[bucket] = true
      order[#order + 1] = bucket
    end
    if not stripeExpiry[stripe] then
      stripeExpiry[stripe] = expireAt
      stripes[#stripes + 1] = stripe
    elseif stripeExpiry[stripe] < expireAt then
      stripeExpiry[stripe] = expireAt
    end
    -- Split now, before the bucket passes what Redis keeps as a listpack (it would not convert
    -- back); the records after this one are addressed with the new bucket count.
    if redis.call('HLEN', bucket) > most then
      split(stripe)
      -- An unlucky bucket may stay full while the split pointer works elsewhere: split on, a little.
      for _ = 1, 16 do
        if redis.call('HLEN', bucketOf(stripe, bucketCount(stripe), field)) <= 2 * most then break end
        split(stripe)
      end
    end
    result[e + 1] = 1
  end
end

for _, bucket in ipairs(order) do sweep(bucket) end
for _, stripe in ipairs(stripes) do
  if redis.call('EXISTS', stripe) == 1 then extendTo(stripe, stripeExpiry[stripe]) end
end
return result
