-- wrk script: each request saves a new household of three at a desk (POST /api/v1/households).
-- The names vary per request so that households are not copies of one another.
local counter = 0
local given = {"Nabi", "Karim", "Zahir", "Hamid", "Rahim", "Wahid", "Farid", "Jawad"}
request = function()
  counter = counter + 1
  local g = given[(counter % #given) + 1]
  local body = string.format(
    '{"site_code":"torkham","members":[' ..
    '{"raw":{"given_name":"%s %d","father_name":"Abdul Ghani","sex":"M","age":"41"},"relationship":"head"},' ..
    '{"raw":{"given_name":"Gul Bibi","father_name":"Mohammad Nabi","sex":"F","age":"36"},"relationship":"spouse"},' ..
    '{"raw":{"given_name":"Zabiullah","father_name":"%s %d","sex":"M","age":"9"},"relationship":"son"}]}',
    g, counter, g, counter)
  return wrk.format("POST", "/api/v1/households", nil, body)
end
