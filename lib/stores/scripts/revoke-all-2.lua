--[[
  revoke-all: delete every session of the user except one (optional).

  Record (one Redis string per session; the format is described in full in
  check-2.lua and redis.ts):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  This script parses only lu, ca, it, al ("" = null for it/al); a record it
  cannot read counts as live (deleted and reported, never kept).

  KEYS[1]  the user's index            <prefix>{<uid>}:i
  KEYS[2]  the user's session key base <prefix>{<uid>}:s:
           The sessions' keys (KEYS[2] .. id) are built here from this
           base; every key shares the user's hash tag, so every key the
           script touches lies in one slot (Redis Cluster safe).

  ARGV[1]  now      epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  except   the session id to keep ("" = none)
  ARGV[3]  channel  where the revocation is published (include/invalidate.lua):
                    one user message when a live session was deleted

  Reply: array of the ids of the live sessions deleted. Dead sessions met
  on the way are deleted too but not reported.

  Afterwards the index holds at most the kept session, and expires at its
  deadline (persistent if it is a forever session); an index left empty is
  deleted.
]]
--!include deadline.lua
--!include invalidate.lua
local now = tonumber(ARGV[1])
local idx = KEYS[1]
local base = KEYS[2]
local except = ARGV[2]

local members = redis.call('ZRANGE', idx, 0, -1)
local revoked = {}
local kept = false
local keptDeadline
for _, id in ipairs(members) do
  local key = base .. id
  local v = redis.call('GET', key)
  local alive = false
  local readable = false
  local d
  if v then
    d = recordDeadline(v)
    readable = d ~= false
    if not readable then d = nil end
    alive = d == nil or d > now
  end
  if alive and readable and id == except then
    kept = true
    keptDeadline = d
  else
    if v then redis.call('DEL', key) end
    redis.call('ZREM', idx, id)
    if alive then revoked[#revoked + 1] = id end
  end
end

if kept then
  if keptDeadline == nil then
    redis.call('PERSIST', idx)
  else
    redis.call('PEXPIRE', idx, keptDeadline - now)
  end
else
  redis.call('DEL', idx)
end
if #revoked > 0 then invalidateUser(ARGV[3], idx) end
return revoked
