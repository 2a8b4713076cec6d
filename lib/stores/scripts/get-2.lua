--[[
  get: read one live session. Writes nothing, except deleting a dead one.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid   the session id (the index member)

  Reply:
    nil    no live session (absent; or dead, and then deleted and unindexed)
    array  { ca, lu, it, al, rm, cl, da, ip, ua }  ("" = null for it/al)
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al', 'rm', 'cl', 'da', 'ip', 'ua')
if not f[1] then return nil end

local d
if f[3] ~= '' then d = tonumber(f[2]) + tonumber(f[3]) end
if f[4] ~= '' then
  local a = tonumber(f[1]) + tonumber(f[4])
  if d == nil or a < d then d = a end
end
if d ~= nil and d <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return nil
end
return f
