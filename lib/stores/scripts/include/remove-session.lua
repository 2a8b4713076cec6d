--[[
  remove-session: shared by every script that removes a single session
  (embedded by scripts/embed-lua.mjs where a script says
  `--!include remove-session.lua`). Defines settleIndex and remove.
]]
-- Removing a session may leave the index without an expiry that no forever
-- session justifies any more: the index is made persistent while
-- a forever session is in it, and that one may be the session just removed.
-- Called right after a ZREM that removed a member. Only an index with no
-- TTL (PTTL -1) is looked at; it gets the expiry create and list would give
-- it: none while a forever session remains, else the furthest deadline of
-- its live sessions (dead and missing ones are pruned on the way); an index
-- left empty is deleted. O(sessions of the user), bounded by maxSessions.
-- The other sessions' keys are built as base .. id, base being KEYS[1]
-- without the session id (same hash tag: same slot).
local function settleIndex(idx, base, now)
  if redis.call('PTTL', idx) ~= -1 then return end
  local furthest
  for _, id in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local key = base .. id
    local v = redis.call('GET', key)
    if not v then
      redis.call('ZREM', idx, id)
    else
      local d = recordDeadline(v)
      -- A record this version cannot read: leave the index as it is.
      if d == false then return end
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
