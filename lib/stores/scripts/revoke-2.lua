--[[
  revoke: delete one session and unindex it.

  Record (one Redis string per session; the format is described in full in
  check-2.lua and redis.ts):
    1|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  This script parses only lu, ca, it, al ("" = null for it/al).

  KEYS[1]  the session record          <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)
           Removing the session settles the index's expiry (settleIndex
           below), reading the user's other records at KEYS[1] less the sid,
           plus their ids: the same hash tag, so the same slot.

  ARGV[1]  now   epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  sid   the session id (the index member)

  Reply:
    1  a live session was deleted
    0  none was live (absent, or dead: deleted all the same)
]]
local now = tonumber(ARGV[1])

-- Removing a session may leave the index without an expiry that no forever
-- session justifies any more (SPEC 3.2): the index is made persistent while
-- a forever session is in it, and that one may be the session just removed.
-- Called right after a ZREM that removed a member. Only an index with no
-- TTL (PTTL -1) is looked at; it gets the expiry create and list would give
-- it: none while a forever session remains, else the furthest deadline of
-- its live sessions (dead and missing ones are pruned on the way); an index
-- left empty is deleted. O(sessions of the user), bounded by maxSessions.
-- The other sessions' keys are built as base .. id, base being KEYS[1]
-- without the session id (same hash tag: same slot). The same function is
-- in every script that removes a single session.
local function settleIndex(idx, base, now)
  if redis.call('PTTL', idx) ~= -1 then return end
  local furthest
  for _, id in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local key = base .. id
    local v = redis.call('GET', key)
    if not v then
      redis.call('ZREM', idx, id)
    else
      local lu, ca, it, al = string.match(v, '^1|([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
      -- A record this version cannot read: leave the index as it is.
      if not lu then return end
      local d
      if it ~= '' then d = tonumber(lu) + tonumber(it) end
      if al ~= '' then
        local a = tonumber(ca) + tonumber(al)
        if d == nil or a < d then d = a end
      end
      -- A forever session remains: the index stays persistent.
      if d == nil then return end
      if d <= now then
        redis.call('DEL', key)
        redis.call('ZREM', idx, id)
      elseif furthest == nil or d > furthest then
        furthest = d
      end
    end
  end
  if furthest == nil then
    redis.call('DEL', idx)
  else
    redis.call('PEXPIRE', idx, furthest - now)
  end
end

-- Deletes the session's record and unindexes it, settling the index's expiry.
local function remove(key, idx, sid, now)
  redis.call('DEL', key)
  if redis.call('ZREM', idx, sid) == 1 then
    settleIndex(idx, string.sub(key, 1, #key - #sid), now)
  end
end
local v = redis.call('GET', KEYS[1])
remove(KEYS[1], KEYS[2], ARGV[2], now)
if not v then return 0 end
local lu, ca, it, al = string.match(v, '^1|([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
if not lu then return 1 end -- unreadable: deleted all the same, counted live

local d
if it ~= '' then d = tonumber(lu) + tonumber(it) end
if al ~= '' then
  local a = tonumber(ca) + tonumber(al)
  if d == nil or a < d then d = a end
end
if d ~= nil and d <= now then return 0 end
return 1
