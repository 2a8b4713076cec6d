--[[
  list: every live session of the user, pruning dead entries from the index
  and resetting the index's expiry to the furthest deadline.

  Record (one Redis string per session; the format is described in full in
  check-2.lua and redis.ts):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  This script parses only lu, ca, it, al ("" = null for it/al).

  KEYS[1]  the user's index            <prefix>{<uid>}:i
  KEYS[2]  the user's session key base <prefix>{<uid>}:s:
           The sessions' keys (KEYS[2] .. id) are built here from this
           base; every key shares the user's hash tag, so every key the
           script touches lies in one slot (Redis Cluster safe).

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)

  Reply: a flat array, two elements per live session, least recently used
  first:  id, record (as stored).

  Expiries: the index at the furthest deadline among its live sessions,
  persistent when a forever session is among them; an index left empty is
  gone (Redis drops an empty sorted set).
]]
--!include deadline.lua
local now = tonumber(ARGV[1])
local idx = KEYS[1]
local base = KEYS[2]

local members = redis.call('ZRANGE', idx, 0, -1)
local out = {}
local n = 0
local furthest = 0
local forever = false
for _, id in ipairs(members) do
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
      if d == nil then forever = true elseif d > furthest then furthest = d end
      out[n + 1] = id
      out[n + 2] = v
      n = n + 2
    end
  end
end

if n > 0 then
  if forever then
    redis.call('PERSIST', idx)
  else
    redis.call('PEXPIRE', idx, furthest - now)
  end
end
return out
