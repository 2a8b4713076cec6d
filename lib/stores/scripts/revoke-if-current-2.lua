--[[
  revoke-if-current: revoke the session if its current refresh generation
  and digest are exactly these (the caller walked a stale token's chain
  forward to the current digest, proving the token belongs to this chain).

  Only digests of refresh tokens reach Redis, never a token (the first 22
  base64url characters, 132 bits, of their SHA-256); they are compared with
  plain string equality.

  KEYS[1]  the session hash            <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the session id (the index member)
  ARGV[3]  generation   the expected current generation
  ARGV[4]  digest       the expected current digest

  Reply:
    nil    nothing matched (absent, dead — then deleted — or another
           generation or digest); no change
    array  { ca, lu, it, al, rm, cl, da, ip, ua }  the record revoked
           (deleted and unindexed)
]]
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'ca', 'lu', 'it', 'al', 'rm', 'cl', 'da', 'ip', 'ua', 'g', 'rc')
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

if tonumber(ARGV[3]) ~= tonumber(f[10]) or ARGV[4] ~= f[11] then return nil end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return { f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9] }
