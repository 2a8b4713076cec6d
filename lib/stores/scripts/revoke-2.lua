--[[
  revoke: delete one session and unindex it.

  Record (one Redis string per session; the format is described in full in
  check-2.lua and redis.ts):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  This script parses only lu, ca, it, al ("" = null for it/al).

  KEYS[1]  the session record          <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)
           Removing the session settles the index's expiry (settleIndex
           in include/remove-session.lua), reading the user's other records at KEYS[1] less the sid,
           plus their ids: the same hash tag, so the same slot.

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid   the session id (the index member)
  ARGV[3]  channel  where the revocation is published (include/invalidate.lua)

  Reply:
    1  a live session was deleted
    0  none was live (absent, or dead: deleted all the same)
]]
local now = tonumber(ARGV[1])

--!include deadline.lua
--!include remove-session.lua
--!include invalidate.lua
local v = redis.call('GET', KEYS[1])
remove(KEYS[1], KEYS[2], ARGV[2], now)
if not v then return 0 end
invalidateSession(ARGV[3], ARGV[2])
local d = recordDeadline(v)
if d == false then return 1 end -- unreadable: deleted all the same, counted live
if d ~= nil and d <= now then return 0 end
return 1
