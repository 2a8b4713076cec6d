--[[
  invalidate: shared by every script that revokes (embedded where a script
  says `--!include invalidate.lua`). Defines invalidateSession and
  invalidateUser.

  A revocation is published from inside the script that makes it, so none
  can happen without its message: processes that answer guarded requests
  from a local cache drop the session when it arrives (see
  redis/invalidations.ts, which reads these messages). Messages go to
  one channel, given by the caller, with classic PUBLISH, which a Redis
  Cluster forwards to every node. An empty channel publishes nothing.

    s|<sid>   one session ended
    u|<uid>   every session of a user ended (uid base64url, as in the keys)
]]
local function invalidateSession(channel, sid)
  if channel ~= '' then redis.call('PUBLISH', channel, 's|' .. sid) end
end

-- The user's encoded id is read off one of its keys: `…{<uid>}…`.
local function invalidateUser(channel, key)
  if channel ~= '' then redis.call('PUBLISH', channel, 'u|' .. string.match(key, '{([^}]*)}')) end
end
