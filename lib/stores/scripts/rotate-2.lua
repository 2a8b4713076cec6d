--[[
  rotate: spend a refresh token and make its successor current, or detect
  reuse of a spent one.

  Only digests of refresh tokens reach Redis, never a token: the first 22
  base64url characters (132 bits) of their SHA-256. The record keeps the
  current digest (rc) and the one spent last (rp). Comparing digests with
  plain string equality here is safe: they are digests of secrets, so
  timing leaks nothing that helps forge a token.

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
  it. Lua's # is a byte length, as the lengths are.

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
  ARGV[5]  successor    digest of the presented token's successor
  ARGV[6]  window       refreshReuseWindow in ms
  ARGV[7]  ip           client IP ("" when unknown)
  ARGV[8]  ua           client user agent ("" when unknown)
  ARGV[9]  channel      where a revocation for reuse is published (include/invalidate.lua)

  Reply (first element the status code):
    0                   invalid: no live session (a dead one is deleted),
                        wrong digest, or a future generation; no change
    { 1, record }       rotated: generation = current, digest = rc; the
                        record rewritten with rp = rc, rc = successor,
                        g = g + 1, rt = now, lu = now, ip/ua replaced
                        (claims and data copied as they are), expiries
                        extended; the reply is the new record
    { 2, record }       repeated: generation = current - 1, digest = rp,
                        now - rt <= window; no change; the record as stored
    { 3, record }       reused: as repeated but outside the window, or
                        generation < current - 1 (two or more rotations
                        old, even inside the window); the session is
                        deleted and unindexed; the record as it was

  The caller verified the presented token's MAC before calling, so a token
  of an older generation was issued for this session: decided here, in the
  same atomic step as the read, whatever rotations run concurrently.
]]
local now = tonumber(ARGV[1])

--!include deadline.lua
--!include remove-session.lua
--!include invalidate.lua
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local lu, ca, it, al, rm, g, rt, rc, rp, ncl, nda, text = string.match(v,
  '^2|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|[^|]*|[^|]*|()')
if not lu then return redis.error_reply('ERR session-guard: unknown session record format') end

local function deadline(last) return deadlineOf(last, ca, it, al) end

local d = deadline(ms(lu))
if d == false then return redis.error_reply('ERR session-guard: unknown session record format') end
if d ~= nil and d <= now then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  return 0
end

local gen = tonumber(ARGV[3])
g = tonumber(g)
if gen == nil or g == nil then return 0 end
local presented = ARGV[4]

if gen == g then
  if presented ~= rc then return 0 end
  local ip, ua = ARGV[7], ARGV[8]
  v = table.concat({ '2', base36(now, LU_WIDTH), ca, it, al, rm, tostring(g + 1), base36(now), ARGV[5], rc, ncl, nda, #ip, #ua }, '|')
    .. '|' .. string.sub(v, text, text + tonumber(ncl) + tonumber(nda) - 1) .. ip .. ua
  d = deadline(now)
  if d == nil then
    redis.call('SET', KEYS[1], v, 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], v, 'PX', d - now)
  end
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
  -- ttl -1: persistent index (a forever session lives there): keep it so.
  -- ttl -2: the index was missing and ZADD just made it: give it a TTL.
  if d ~= nil and (ttl == -2 or (ttl >= 0 and ttl < d - now)) then
    redis.call('PEXPIRE', KEYS[2], d - now)
  end
  return { 1, v }
end

if gen == g - 1 then
  if rp == '' or presented ~= rp then return 0 end
  local spent = ms(rt)
  if spent ~= nil and now - spent <= tonumber(ARGV[6]) then return { 2, v } end
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  invalidateSession(ARGV[9], ARGV[2])
  return { 3, v }
end

if gen < g - 1 then
  remove(KEYS[1], KEYS[2], ARGV[2], now)
  invalidateSession(ARGV[9], ARGV[2])
  return { 3, v }
end
return 0
