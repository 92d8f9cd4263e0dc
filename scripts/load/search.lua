-- wrk script: each request is a people search by part of a name (GET /api/v1/persons?name=…).
local names = {"nabi", "karim", "zahir", "hamid", "gul", "rahim", "wahid", "farid"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/persons?name=" .. names[(i % #names) + 1] .. "&limit=20")
end
