--[[
  revoke-by-refresh: revoke the session if the presented refresh token is
  its current one (generation = g, digest = rc) or the one spent last
  (generation = g - 1, digest = rp). Logout with an expired access token.

  Only digests of refresh tokens reach Redis, never a token (the first 22
  base64url characters, 132 bits, of their SHA-256); they are compared with
  plain string equality.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the session id (the index member)
  ARGV[3]  generation   the generation written in the presented token
  ARGV[4]  presented    digest of the presented token

  Reply:
    1  a live session matched and was deleted and unindexed
    0  nothing matched (absent, dead — then deleted — or wrong token)
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al', 'g', 'rc', 'rp')
if not f[1] then return 0 end

local d
if f[3] ~= '' then d = tonumber(f[2]) + tonumber(f[3]) end
if f[4] ~= '' then
  local a = tonumber(f[1]) + tonumber(f[4])
  if d == nil or a < d then d = a end
end
if d ~= nil and d <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end

local gen = tonumber(ARGV[3])
local g = tonumber(f[5])
if gen == nil or g == nil then return 0 end
local presented = ARGV[4]
if (gen == g and presented == f[6]) or (gen == g - 1 and f[7] ~= '' and presented == f[7]) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
