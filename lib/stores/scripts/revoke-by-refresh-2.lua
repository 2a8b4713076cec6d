--[[
  revoke-by-refresh: logout with a refresh token (the access token has
  expired). Ends the session if the presented token is its current one
  (generation = g, digest = rc) or the one spent last (generation = g - 1,
  digest = rp) at most reuseWindow ms after it was spent (rt). A spent
  token — the one spent last after the window, or one two or more
  rotations old — is reuse, judged as rotate-2.lua judges it: the session
  is revoked all the same, and the reply says so. The caller verified the
  token's MAC, so an old generation was issued for this session.

  Only digests of refresh tokens reach Redis, never a token (the first 22
  base64url characters, 132 bits, of their SHA-256); they are compared with
  plain string equality.

  Record (one Redis string per session; the format is described in full in
  check-2.lua and redis.ts):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  This script parses only the head up to rp ("" = null for it/al, none for
  rt/rp).

  KEYS[1]  the session record          <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)
           Removing the session settles the index's expiry (settleIndex
           in include/remove-session.lua), reading the user's other records at KEYS[1] less the sid,
           plus their ids: the same hash tag, so the same slot.

  ARGV[1]  now          epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid          the session id (the index member)
  ARGV[3]  generation   the generation written in the presented token
  ARGV[4]  presented    digest of the presented token
  ARGV[5]  reuseWindow  ms after a rotation during which the spent token still counts
  ARGV[6]  channel      where the revocation is published (include/invalidate.lua)

  Reply:
    1  ended: the current token, or the one spent last inside the window;
       the session was deleted and unindexed
    3  reused: a spent token; the session was deleted and unindexed
    0  invalid: nothing matched (absent, dead — then deleted — wrong
       digest, or a future generation); no change
]]
local now = tonumber(ARGV[1])

--!include deadline.lua
--!include remove-session.lua
--!include invalidate.lua
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local lu, ca, it, al, _, g, rt, rc, rp =
  string.match(v, '^2|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
if not lu then return redis.error_reply('ERR session-guard: unknown session record format') end

local d = deadlineOf(ms(lu), ca, it, al)
if d == false then return redis.error_reply('ERR session-guard: unknown session record format') end
if d ~= nil and d <= now then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  return 0
end

local gen = tonumber(ARGV[3])
g = tonumber(g)
if gen == nil or g == nil then return 0 end
local presented = ARGV[4]
if gen == g and presented == rc then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  invalidateSession(ARGV[6], ARGV[2])
  return 1
end
if gen == g - 1 and rp ~= '' and presented == rp then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  invalidateSession(ARGV[6], ARGV[2])
  local spent = ms(rt)
  if spent ~= nil and now - spent <= tonumber(ARGV[5]) then return 1 end
  return 3
end
if gen < g - 1 then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  invalidateSession(ARGV[6], ARGV[2])
  return 3
end
return 0
