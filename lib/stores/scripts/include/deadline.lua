--[[
  deadline: shared by every script that judges a record alive (embedded by
  scripts/embed-lua.mjs where a script says `--!include deadline.lua`).
  Record format 2 writes times and durations in base 36 (lower case), and
  lu at a fixed width, LU_WIDTH, so that a touch rewrites it in place.
]]
local LU_WIDTH = 9 -- enough for every epoch ms until the year 5188
local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

-- 36^1 .. 36^6: a base-36 chunk of up to 6 characters stays below 2^32.
local POW36 = { 36, 1296, 46656, 1679616, 60466176, 2176782336 }

-- A record's time or duration field as a number of ms; nil for "" or for
-- anything but [0-9a-z]. Read in chunks of 6 characters: tonumber(s, 36)
-- is C's strtoul, only 32 bits wide on 32-bit builds and Windows ports, and
-- it would also take spaces, a sign or upper case.
local function ms(field)
  if not string.find(field, '^[0-9a-z]+$') then return nil end
  local n = 0
  for i = 1, #field, 6 do
    local chunk = string.sub(field, i, i + 5)
    n = n * POW36[#chunk] + tonumber(chunk, 36)
  end
  return n
end

-- A whole number of ms >= 0 as a record field, left-padded with zeros to width.
local function base36(n, width)
  -- Anything else would never reach 0 below (and would hang Redis).
  if not (n >= 0 and n <= 9007199254740991) then error('session-guard: time out of range') end
  local s = ''
  repeat
    local r = n % 36
    s = string.sub(DIGITS, r + 1, r + 1) .. s
    n = (n - r) / 36
  until n == 0
  if width and #s < width then s = string.rep('0', width - #s) .. s end
  return s
end

-- The instant a record dies: the earlier of lu + it and ca + al, an "" part
-- being no deadline; nil for a forever session (it = al = ""); false when a
-- time is not base 36 (a damaged record: callers refuse it before writing).
-- lu is a number (ms) or nil (ms() of a damaged field); ca, it and al are
-- the record's fields as stored.
local function deadlineOf(lu, ca, it, al)
  local created = ms(ca)
  if lu == nil or created == nil then return false end
  local d
  if it ~= '' then
    local idle = ms(it)
    if idle == nil then return false end
    d = lu + idle
  end
  if al ~= '' then
    local lifetime = ms(al)
    if lifetime == nil then return false end
    local a = created + lifetime
    if d == nil or a < d then d = a end
  end
  return d
end

-- deadlineOf a whole record as stored: its deadline, nil for a forever
-- session, false when the record is unreadable (another format, or a
-- damaged time). For the scripts that need no other field of the head.
local function recordDeadline(v)
  local lu, ca, it, al = string.match(v, '^2|([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
  if not lu then return false end
  return deadlineOf(ms(lu), ca, it, al)
end
