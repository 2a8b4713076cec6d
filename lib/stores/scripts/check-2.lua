--[[
  check: the guard's per-request session check, with an optional touch.

  The hot path: one EVALSHA, and no write unless the touch is due.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now            epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  touchInterval  ms; lastUsedAt is written only when now - lu >= this
  ARGV[3]  sid            the session id (the index member)

  Reply:
    nil    no live session (absent; or dead, and then deleted and unindexed)
    array  { ca, lu, it, al, rm, cl, da, ip, ua }  the record's fields as
           strings, lu already moved to now when touched ("" = null for
           it/al)

  Expiries after a touch: the hash expires at its new deadline
  min(lu + it, ca + al); the index is extended to that deadline only if it
  expires earlier (a persistent index, a forever session's, stays so). A
  forever session (it = al = "") has no expiry and gets none.
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al', 'rm', 'cl', 'da', 'ip', 'ua')
if not f[1] then return nil end

local function deadline(lu)
  local d
  if f[3] ~= '' then d = lu + tonumber(f[3]) end
  if f[4] ~= '' then
    local a = tonumber(f[1]) + tonumber(f[4])
    if d == nil or a < d then d = a end
  end
  return d
end

local lu = tonumber(f[2])
local d = deadline(lu)
if d ~= nil and d <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return nil
end

if now - lu >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'lu', ARGV[1])
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
  f[2] = ARGV[1]
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
end
return f
