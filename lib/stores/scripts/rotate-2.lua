--[[
  rotate: spend a refresh token and make its successor current, or detect
  reuse of a spent one.

  Only digests of refresh tokens reach Redis, never a token: the first 22
  base64url characters (132 bits) of their SHA-256. The hash keeps the
  current digest (rc) and the one spent last (rp). Comparing digests with
  plain string equality here is safe: they are digests of secrets, so
  timing leaks nothing that helps forge a token.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the session id (the index member)
  ARGV[3]  generation   the generation written in the presented token
  ARGV[4]  presented    digest of the presented token
  ARGV[5]  successor    digest of the presented token's successor
  ARGV[6]  window       refreshReuseWindow in ms
  ARGV[7]  ip           client IP ("" when unknown)
  ARGV[8]  ua           client user agent ("" when unknown)

  Reply (first element the status code):
    0                         invalid: no live session (a dead one is deleted),
                              wrong digest, or a future generation; no change
    { 1, ca, lu, it, al, rm, cl, da, ip, ua }
                              rotated: generation = current, digest = rc:
                              rp = rc, rc = successor, g = g + 1, rt = now,
                              lu = now, ip/ua updated, expiries extended
    { 2, ca, lu, ...same }    repeated: generation = current - 1, digest = rp,
                              now - rt <= window; no change
    { 3, ca, lu, ...same }    reused: as repeated but outside the window;
                              the session is deleted and unindexed
    { 4, g }                  stale: generation < current - 1; no change,
                              g is the current generation
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al', 'rm', 'cl', 'da', 'ip', 'ua', 'g', 'rc', 'rp', 'rt')
if not f[1] then return 0 end

local function deadline(lu)
  local d
  if f[3] ~= '' then d = lu + tonumber(f[3]) end
  if f[4] ~= '' then
    local a = tonumber(f[1]) + tonumber(f[4])
    if d == nil or a < d then d = a end
  end
  return d
end

local d = deadline(tonumber(f[2]))
if d ~= nil and d <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end

local gen = tonumber(ARGV[3])
local g = tonumber(f[10])
if gen == nil or g == nil then return 0 end
local presented = ARGV[4]

local function reply(code)
  return { code, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9] }
end

if gen == g then
  if presented ~= f[11] then return 0 end
  redis.call('HSET', KEYS[1], 'rp', f[11], 'rc', ARGV[5], 'g', tostring(g + 1),
    'rt', ARGV[1], 'lu', ARGV[1], 'ip', ARGV[7], 'ua', ARGV[8])
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
  f[2] = ARGV[1]
  f[8] = ARGV[7]
  f[9] = ARGV[8]
  d = deadline(now)
  if d ~= nil then
    local ms = d - now
    redis.call('PEXPIRE', KEYS[1], ms)
    -- ttl -1: persistent index (a forever session lives there): keep it so.
    -- ttl -2: the index was missing and ZADD just made it: give it a TTL.
    if ttl == -2 or (ttl >= 0 and ttl < ms) then
      redis.call('PEXPIRE', KEYS[2], ms)
    end
  end
  return reply(1)
end

if gen == g - 1 then
  if f[12] == '' or presented ~= f[12] then return 0 end
  local rt = tonumber(f[13])
  if rt ~= nil and now - rt <= tonumber(ARGV[6]) then return reply(2) end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return reply(3)
end

if gen < g - 1 then return { 4, g } end
return 0
