--[[
  create: store a new session, pruning the user's index of dead entries and
  evicting the least recently used live sessions beyond maxSessions.

  Record format (one Redis string per session; see redis.ts, `pack`):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  "2" the format version; lu lastUsedAt, ca createdAt (epoch ms); it
  idleTimeout, al absoluteLifetime (ms, "" = null); rm "1"/"0"; g the
  refresh generation; rt when it was last rotated (epoch ms, "" = never).
  Times and durations are base 36 (lower case; lu zero-padded to LU_WIDTH,
  see include/deadline.lua), g and the lengths decimal;
  rc, rp the current and the previous refresh digest (base64url, "" = none);
  ncl nda nip nua the lengths in BYTES of claims, data, ip and user agent,
  which follow the head's 14th "|" back to back. The head holds only [0-9a-z],
  base64url and "|", so no content of the text fields can be mistaken for
  it. This script reads only lu, ca, it, al of each record.

  KEYS[1]  the new session's record    <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
  KEYS[3]  the user's session key base <prefix>{<uid>}:s:
           The other sessions' keys (KEYS[3] .. id) are built here from
           this base. Every key shares the user's hash tag, so every key
           the script touches lies in one slot (Redis Cluster safe).

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the new session id
  ARGV[3]  maxSessions  at most this many sessions remain, the new one
                        included ("" = no cap)
  ARGV[4]  record       the new record, packed as above by the caller, at
                        generation 0: g = "0", rt = "", rp = "", rc the
                        digest of the generation-0 refresh token (the first
                        22 base64url characters of its SHA-256; never the
                        token)
  ARGV[5]  channel      where each eviction is published (include/invalidate.lua)

  Reply: array of the evicted session ids (lowest lastUsedAt first; never
  the new id).

  Expiries: the new record at its deadline min(lu + it, ca + al) (none for
  a forever session); the index at the furthest deadline among its
  remaining sessions, or persistent when a forever session is among them.
]]
--!include deadline.lua
--!include invalidate.lua
local now = tonumber(ARGV[1])
local sid = ARGV[2]
local idx = KEYS[2]
local base = KEYS[3]

-- Prune: lowest score (least recently used) first.
local members = redis.call('ZRANGE', idx, 0, -1)
local live = {}
local dl = {}
for _, id in ipairs(members) do
  if id ~= sid then
    local key = base .. id
    local v = redis.call('GET', key)
    if not v then
      redis.call('ZREM', idx, id)
    else
      local d = recordDeadline(v)
      if d == false then return redis.error_reply('ERR session-guard: unknown session record format') end
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
    invalidateSession(ARGV[5], live[i])
    evicted[i] = live[i]
  end
  if excess > 0 then first = excess + 1 end
end

-- The new record (replacing any leftover under the same id).
local record = ARGV[4]
local lu0 = string.match(record, '^2|([^|]*)|')
local d0 = recordDeadline(record)
if d0 == false then return redis.error_reply('ERR session-guard: unknown session record format') end
if d0 ~= nil and d0 <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', idx, sid)
  return evicted
end
-- SET replaces any leftover under the same id, and its TTL.
if d0 == nil then
  redis.call('SET', KEYS[1], record)
else
  redis.call('SET', KEYS[1], record, 'PX', d0 - now)
end
redis.call('ZADD', idx, ms(lu0), sid)

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
