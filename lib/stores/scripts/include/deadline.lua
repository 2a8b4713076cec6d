--[[
  deadline: shared by every script that judges a record alive (embedded by
  scripts/embed-lua.mjs where a script says `--!include deadline.lua`).
]]
-- The instant a record dies, from its head's fields (strings or numbers):
-- the earlier of lu + it and ca + al, an "" part being no deadline; nil for
-- a forever session (it = al = "").
local function deadlineOf(lu, ca, it, al)
  local d
  if it ~= '' then d = tonumber(lu) + tonumber(it) end
  if al ~= '' then
    local a = tonumber(ca) + tonumber(al)
    if d == nil or a < d then d = a end
  end
  return d
end