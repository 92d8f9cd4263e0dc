-- wrk script: each request is a desk's duplicate check while a name is typed
-- (POST /api/v1/matching/check), over people drawn from the registry (people.txt: given name,
-- father's name, sex and birth year, tab-separated, one person a line).
local people = {}
for line in io.lines(os.getenv("PEYWAND_PEOPLE") or "people.txt") do
  local g, f, s, b = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)")
  if g then people[#people + 1] = {g, f, s, b} end
end
local i = 0
request = function()
  i = i + 1
  local p = people[(i * 7919) % #people + 1]
  local body = string.format(
    '{"members":[{"given_name":"%s","father_name":"%s","sex":"%s","birth_date":"%s"}]}',
    p[1], p[2], p[3], p[4])
  return wrk.format("POST", "/api/v1/matching/check", nil, body)
end
