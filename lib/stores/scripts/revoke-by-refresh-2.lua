--[[
  revoke-by-refresh: revoke the session if the presented refresh token is
  its current one (generation = g, digest = rc) or the one spent last
  (generation = g - 1, digest = rp) at most reuseWindow ms after it was
  spent (rt). Logout with an expired access token; a spent token after the
  window changes nothing here, and the caller treats it as reuse.

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

  Reply:
    1  a live session matched and was deleted and unindexed
    0  nothing matched (absent, dead — then deleted — or wrong token)
]]
local now = tonumber(ARGV[1])

--!include deadline.lua
--!include remove-session.lua
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
local spentInWindow = rt ~= '' and now - ms(rt) <= tonumber(ARGV[5])
if (gen == g and presented == rc) or (gen == g - 1 and rp ~= '' and presented == rp and spentInWindow) then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  return 1
end
return 0
