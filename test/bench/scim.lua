-- wrk script for Gatehouse's SCIM benchmarks. Environment:
--   GH_TOKEN  SCIM bearer token (required)
--   GH_MODE   get (GET /Users/{id}), filter (GET /Users?filter=userName eq ...),
--             post (POST /Users with a unique userName per request)
--   GH_USERS  users.tsv written by test/bench/seed (id TAB userName), for get/filter
--   GH_TAG    distinguishes userNames between runs (post); default: time
-- Every thread walks the seeded users from its own random offset, so the
-- requests rotate over all 10k users.

local mode = os.getenv("GH_MODE") or "get"
local token = os.getenv("GH_TOKEN") or error("GH_TOKEN is not set")
local usersFile = os.getenv("GH_USERS")
local tag = os.getenv("GH_TAG") or tostring(os.time())
local counter = 0
local paths = {}
local idx = 0
local headers = { ["Authorization"] = "Bearer " .. token }
local postHeaders = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json" }

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  if mode == "get" or mode == "filter" then
    if not usersFile then error("GH_USERS is not set") end
    for line in io.lines(usersFile) do
      local id, name = line:match("^(%S+)\t(%S+)$")
      if id then
        if mode == "get" then
          paths[#paths + 1] = "/scim/v2/Users/" .. id
        else
          paths[#paths + 1] = "/scim/v2/Users?filter=" .. urlencode('userName eq "' .. name .. '"')
        end
      end
    end
    if #paths == 0 then error("no users in " .. usersFile) end
    idx = math.random(#paths)
  end
end

local function userBody(name, n)
  return string.format('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],'
    .. '"externalId":"%s","userName":"%s","active":true,"displayName":"Bench %d",'
    .. '"emails":[{"primary":true,"type":"work","value":"%s"}],"meta":{"resourceType":"User"},'
    .. '"name":{"formatted":"Bench %d","familyName":"Bench","givenName":"W%d"},"roles":[],"title":"Engineer",'
    .. '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"%d","department":"Load"}}',
    name, name, n, name, n, n, n)
end

function request()
  if mode == "post" then
    counter = counter + 1
    local name = string.format("wrk-%s-t%d-%d@bench.example.com", tag, tid or 0, counter)
    return wrk.format("POST", "/scim/v2/Users", postHeaders, userBody(name, counter))
  end
  idx = idx % #paths + 1
  return wrk.format("GET", paths[idx], headers)
end
