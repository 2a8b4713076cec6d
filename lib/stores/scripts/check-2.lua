--[[
  check: the guard's per-request session check, with an optional touch.

  The hot path: one EVALSHA running one GET, and no write unless the touch
  is due. Only the numeric head of the record is parsed (one string.match).

  Record format (one Redis string per session; see redis.ts, `pack`):
    1|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  "1" the format version; lu lastUsedAt, ca createdAt (epoch ms); it
  idleTimeout, al absoluteLifetime (ms, "" = null); rm "1"/"0"; g the
  refresh generation; rt when it was last rotated (epoch ms, "" = never);
  rc, rp the current and the previous refresh digest (base64url, "" = none);
  ncl nda nip nua the lengths in BYTES of claims, data, ip and user agent,
  which follow the head's 14th "|" back to back. The head holds only digits,
  base64url and "|", so no content of the text fields can be mistaken for
  it.

  KEYS[1]  the session record          <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now            epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  touchInterval  ms; lastUsedAt is written only when now - lu >= this
  ARGV[3]  sid            the session id (the index member)

  Reply:
    nil     no live session (absent; or dead, and then deleted and unindexed)
    string  the record, lu already moved to now when touched

  A touch rewrites lu (everything after it is copied as it is) with one
  SET: the record then expires at its new deadline min(lu + it, ca + al)
  (PX), or keeps having no expiry for a forever session (it = al = "",
  KEEPTTL); the index is extended to that deadline only if it expires
  earlier (a persistent index, a forever session's, stays so).
]]
local now = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
if not v then return nil end
local lu, rest, ca, it, al = string.match(v, '^1|([^|]*)()|([^|]*)|([^|]*)|([^|]*)|')
if not lu then return redis.error_reply('ERR session-guard: unknown session record format') end

local function deadline(last)
  local d
  if it ~= '' then d = last + tonumber(it) end
  if al ~= '' then
    local a = tonumber(ca) + tonumber(al)
    if d == nil or a < d then d = a end
  end
  return d
end

lu = tonumber(lu)
local d = deadline(lu)
if d ~= nil and d <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  return nil
end

if now - lu >= tonumber(ARGV[2]) then
  v = '1|' .. ARGV[1] .. string.sub(v, rest)
  d = deadline(now)
  if d == nil then
    redis.call('SET', KEYS[1], v, 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], v, 'PX', d - now)
  end
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
  -- ttl -1: persistent index (a forever session lives there): keep it so.
  -- ttl -2: the index was missing and ZADD just made it: give it a TTL.
  if d ~= nil and (ttl == -2 or (ttl >= 0 and ttl < d - now)) then
    redis.call('PEXPIRE', KEYS[2], d - now)
  end
end
return v
