--[[
  check: the guard's per-request session check, with an optional touch.

  The hot path: one EVALSHA, and no write unless the touch is due. The
  reply carries only what the guard needs: the numeric head and the data,
  never the claims (the JWT carries them), the IP or the user agent. Nor
  does the script read more than it needs: every byte brought into Lua
  costs (about as much as a redis.call per 1-2 KB), so it reads the first
  HEAD_MAX bytes with one GETRANGE (a typical record whole), parses the head
  with one string.match, and only when the record is longer: its length
  (STRLEN, to validate it) and the data alone (a second GETRANGE).

  Record format (one Redis string per session; see redis.ts, `pack`):
    2|lu|ca|it|al|rm|g|rt|rc|rp|ncl|nda|nip|nua|<cl><da><ip><ua>
  "2" the format version; lu lastUsedAt, ca createdAt (epoch ms); it
  idleTimeout, al absoluteLifetime (ms, "" = null); rm "1"/"0"; g the
  refresh generation; rt when it was last rotated (epoch ms, "" = never).
  Times and durations are base 36 (lower case; lu zero-padded to LU_WIDTH,
  see include/deadline.lua), g and the lengths decimal;
  rc, rp the current and the previous refresh digest (base64url, "" = none);
  ncl nda nip nua the lengths in BYTES of claims, data, ip and user agent,
  which follow the head's 14th "|" back to back. The head holds only [0-9a-z],
  base64url and "|", so no content of the text fields can be mistaken for
  it. The head is at most about 200 bytes (times of up to 11 base-36
  characters, g and lengths of up to 16 digits, two 22-character digests); this script reads its first HEAD_MAX bytes.

  KEYS[1]  the session record          <prefix>{<uid>}:s:<sid>
  KEYS[2]  the user's index            <prefix>{<uid>}:i
           (both carry the user's hash tag: one slot, Redis Cluster safe)
           Removing the session settles the index's expiry (settleIndex
           in include/remove-session.lua), reading the user's other records at KEYS[1] less the sid,
           plus their ids: the same hash tag, so the same slot.

  ARGV[1]  now            epoch ms from the caller's clock (never Redis TIME)
  ARGV[2]  touchInterval  ms; lastUsedAt is written only when now - lu >= this
  ARGV[3]  sid            the session id (the index member)

  Reply (read by redis.ts, `unpackChecked`), where head is
  "lu|ca|it|al|rm", the record's first five head fields (lu already moved
  to now when touched), and data the record's data (nda bytes, maybe none):
    nil               no live session (absent; or dead, and then deleted
                      and unindexed)
    string            head .. "|" .. data, when the data lies within the
                      first HEAD_MAX bytes (one short string to return)
    { head, data }    when the data was read apart (no copy of it is made)

  A touch rewrites lu in place with SETRANGE when the new value is as long
  as the old (lu is written at LU_WIDTH: so until the year 5188), else with a
  GET and a SET of the whole record (everything after lu copied as it is).
  The record then expires at its new deadline min(lu + it, ca + al)
  (PEXPIRE), or keeps having no expiry for a forever session (it = al =
  ""); the index is extended to that deadline only if it expires earlier (a
  persistent index, a forever session's, stays so).
]]
local now = tonumber(ARGV[1])

--!include deadline.lua
--!include remove-session.lua
local HEAD_MAX = 256
local h = redis.call('GETRANGE', KEYS[1], 0, HEAD_MAX - 1)
if h == '' then return nil end -- no such key (a record is never empty)
local lu, rest, ca, it, al, rm, ncl, nda, nip, nua, text = string.match(h,
  '^2|([^|]*)()|([^|]*)|([^|]*)|([^|]*)|([^|]*)|[^|]*|[^|]*|[^|]*|[^|]*|([^|]*)|([^|]*)|([^|]*)|([^|]*)|()')
if lu then
  ncl, nda, nip, nua = tonumber(ncl), tonumber(nda), tonumber(nip), tonumber(nua)
end
-- text is where the text fields start (1-based): their lengths must cover
-- the record exactly (h is all of it when shorter than HEAD_MAX).
local size = nua and ncl and nda and nip and text - 1 + ncl + nda + nip + nua
if not size or size ~= (#h < HEAD_MAX and #h or redis.call('STRLEN', KEYS[1])) then
  return redis.error_reply('ERR session-guard: unknown session record format')
end

local function deadline(last) return deadlineOf(last, ca, it, al) end

local d = deadline(ms(lu))
if d == false then return redis.error_reply('ERR session-guard: unknown session record format') end
if d ~= nil and d <= now then
  remove(KEYS[1], KEYS[2], ARGV[3], now)
  return nil
end

-- Read before a touch, which may move it. Data within h is sliced from
-- it; longer data is read alone, and later returned as it came: making a
-- copy of it in Lua would cost as much as reading it.
local data = ''
local apart = false
if nda > 0 then
  local from = text + ncl -- 1-based position of the data
  if from + nda - 1 <= #h then
    data = string.sub(h, from, from + nda - 1)
  else
    data = redis.call('GETRANGE', KEYS[1], from - 1, from + nda - 2)
    apart = true
  end
end

if now - ms(lu) >= tonumber(ARGV[2]) then
  d = deadline(now)
  local touched = base36(now, LU_WIDTH)
  if #touched == #lu then
    redis.call('SETRANGE', KEYS[1], 2, touched) -- lu starts after "2|"; SETRANGE keeps the TTL
    if d ~= nil then redis.call('PEXPIRE', KEYS[1], d - now) end
  else
    local v = '2|' .. touched .. string.sub(redis.call('GET', KEYS[1]), rest)
    if d == nil then
      redis.call('SET', KEYS[1], v, 'KEEPTTL')
    else
      redis.call('SET', KEYS[1], v, 'PX', d - now)
    end
  end
  lu = touched
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
  -- ttl -1: persistent index (a forever session lives there): keep it so.
  -- ttl -2: the index was missing and ZADD just made it: give it a TTL.
  if d ~= nil and (ttl == -2 or (ttl >= 0 and ttl < d - now)) then
    redis.call('PEXPIRE', KEYS[2], d - now)
  end
end

local head = lu .. '|' .. ca .. '|' .. it .. '|' .. al .. '|' .. rm
if apart then return { head, data } end
return head .. '|' .. data
