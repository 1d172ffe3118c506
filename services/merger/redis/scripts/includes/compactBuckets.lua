-- Where a compact record is (redis/compactRecord.ts; keys.ts, compactStripe). A stripe is a
-- linear-hashing table of Redis hashes: the stripe key holds its number of buckets n (absent: 1),
-- bucket i is the hash "<stripe>|<i>". With 2^k the largest power of two not above n and h the
-- field's first four bytes (the field is 12 bytes of SHA-256), a field is in bucket h mod 2^k, or
-- in h mod 2^(k+1) when h mod 2^k is below the split pointer n - 2^k (that bucket was split).
-- Growing by one bucket at a time keeps each hash small enough for Redis' listpack encoding.

local function fieldHash(field)
  local b1, b2, b3, b4 = string.byte(field, 1, 4)
  return ((b1 * 256 + b2) * 256 + b3) * 256 + b4
end

-- Read once per stripe and script call (a batch's ids share a few stripes).
local stripeSizes = {}
local function bucketCount(stripe)
  local n = stripeSizes[stripe]
  if not n then
    n = tonumber(redis.call('GET', stripe) or '1')
    stripeSizes[stripe] = n
  end
  return n
end

local function lowerPower(n)
  local p = 1
  while p * 2 <= n do p = p * 2 end
  return p
end

local function bucketIndex(n, h)
  local p = lowerPower(n)
  local i = h % p
  if i < n - p then i = h % (2 * p) end
  return i
end

local function bucketOf(stripe, n, field)
  return stripe .. '|' .. bucketIndex(n, fieldHash(field))
end
