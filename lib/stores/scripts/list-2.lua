--[[
  list: every live session of the user, pruning dead entries from the index
  and resetting the index's expiry to the furthest deadline.

  KEYS[1]  the user's index            <prefix>{<uid>}:i
  KEYS[2]  the user's session key base <prefix>{<uid>}:s:
           The sessions' keys (KEYS[2] .. id) are built here from this
           base; every key shares the user's hash tag, so every key the
           script touches lies in one slot (Redis Cluster safe).

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)

  Reply: a flat array, ten elements per live session, least recently used
  first:  id, ca, lu, it, al, rm, cl, da, ip, ua  ("" = null for it/al).

  Expiries: the index at the furthest deadline among its live sessions,
  persistent when a forever session is among them; an index left empty is
  gone (Redis drops an empty sorted set).
]]
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
  local f = redis.call('HMGET', key, 'ca', 'lu', 'it', 'al', 'rm', 'cl', 'da', 'ip', 'ua')
  if not f[1] then
    redis.call('ZREM', idx, id)
  else
    local d
    if f[3] ~= '' then d = tonumber(f[2]) + tonumber(f[3]) end
    if f[4] ~= '' then
      local a = tonumber(f[1]) + tonumber(f[4])
      if d == nil or a < d then d = a end
    end
    if d ~= nil and d <= now then
      redis.call('DEL', key)
      redis.call('ZREM', idx, id)
    else
      if d == nil then forever = true elseif d > furthest then furthest = d end
      out[n + 1] = id
      for j = 1, 9 do out[n + 1 + j] = f[j] end
      n = n + 10
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
