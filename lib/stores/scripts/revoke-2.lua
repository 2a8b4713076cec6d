--[[
  revoke: delete one session and unindex it.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid   the session id (the index member)

  Reply:
    1  a live session was deleted
    0  none was live (absent, or dead: deleted all the same)
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al')
redis.call('ZREM', KEYS[2], ARGV[2])
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])

local d
if f[3] ~= '' then d = tonumber(f[2]) + tonumber(f[3]) end
if f[4] ~= '' then
  local a = tonumber(f[1]) + tonumber(f[4])
  if d == nil or a < d then d = a end
end
if d ~= nil and d <= now then return 0 end
return 1
