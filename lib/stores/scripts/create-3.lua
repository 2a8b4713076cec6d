--[[
  create: store a new session, pruning the user's index of dead entries and
  evicting the least recently used live sessions beyond maxSessions.

  KEYS[1]  the new session's hash      <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
  KEYS[3]  the user's session key base <prefix>{<uid>}:s:
           The other sessions' keys (KEYS[3] .. id) are built here from
           this base. Every key shares the user's hash tag, so every key
           the script touches lies in one slot (Redis Cluster safe).

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the new session id
  ARGV[3]  maxSessions  at most this many sessions remain, the new one
                        included ("" = no cap)
  ARGV[4]  ca   createdAt          ARGV[5]  lu   lastUsedAt
  ARGV[6]  it   idleTimeout ms     ARGV[7]  al   absoluteLifetime ms
                ("" = null)                      ("" = null)
  ARGV[8]  rm   "1" / "0"          ARGV[9]  cl   claims JSON text
  ARGV[10] da   data JSON text     ARGV[11] ip
  ARGV[12] ua                      ARGV[13] rc   digest of the generation-0
                                                 refresh token (the first 22
                                                 base64url characters of its
                                                 SHA-256; never the token)

  Hash fields written: the ARGV above plus g = "0", rp = "" (no previous
  digest at generation 0), rt = "" (never rotated).

  Reply: array of the evicted session ids (lowest lastUsedAt first; never
  the new id).

  Expiries: the new hash at its deadline min(lu + it, ca + al) (none for a
  forever session); the index at the furthest deadline among its remaining
  sessions, or persistent when a forever session is among them.
]]
local now = tonumber(ARGV[1])
local sid = ARGV[2]
local idx = KEYS[2]
local base = KEYS[3]

local function deadline(ca, lu, it, al)
  local d
  if it ~= '' then d = tonumber(lu) + tonumber(it) end
  if al ~= '' then
    local a = tonumber(ca) + tonumber(al)
    if d == nil or a < d then d = a end
  end
  return d
end

-- Prune: lowest score (least recently used) first.
local members = redis.call('ZRANGE', idx, 0, -1)
local live = {}
local dl = {}
for _, id in ipairs(members) do
  if id ~= sid then
    local key = base .. id
    local f = redis.call('HMGET', key, 'ca', 'lu', 'it', 'al')
    if not f[1] then
      redis.call('ZREM', idx, id)
    else
      local d = deadline(f[1], f[2], f[3], f[4])
      if d ~= nil and d <= now then
        redis.call('DEL', key)
        redis.call('ZREM', idx, id)
      else
        live[#live + 1] = id
        dl[#live] = d or false
      end
    end
  end
end

-- Evict down to maxSessions - 1, so that the new one makes maxSessions.
local evicted = {}
local first = 1
local max = tonumber(ARGV[3])
if max ~= nil then
  local excess = #live - (max - 1)
  if excess > #live then excess = #live end
  for i = 1, excess do
    redis.call('DEL', base .. live[i])
    redis.call('ZREM', idx, live[i])
    evicted[i] = live[i]
  end
  if excess > 0 then first = excess + 1 end
end

-- The new record (replacing any leftover under the same id).
local d0 = deadline(ARGV[4], ARGV[5], ARGV[6], ARGV[7])
redis.call('DEL', KEYS[1])
if d0 ~= nil and d0 <= now then
  redis.call('ZREM', idx, sid)
  return evicted
end
redis.call('HSET', KEYS[1], 'ca', ARGV[4], 'lu', ARGV[5], 'it', ARGV[6], 'al', ARGV[7],
  'rm', ARGV[8], 'cl', ARGV[9], 'da', ARGV[10], 'ip', ARGV[11], 'ua', ARGV[12],
  'g', '0', 'rc', ARGV[13], 'rp', '', 'rt', '')
if d0 ~= nil then redis.call('PEXPIRE', KEYS[1], d0 - now) end
redis.call('ZADD', idx, ARGV[5], sid)

-- The index lives as long as its longest-lived session.
local furthest = d0
for i = first, #live do
  local d = dl[i]
  if furthest == nil or d == false then
    furthest = nil
    break
  end
  if d > furthest then furthest = d end
end
if furthest == nil then
  redis.call('PERSIST', idx)
else
  redis.call('PEXPIRE', idx, furthest - now)
end
return evicted
