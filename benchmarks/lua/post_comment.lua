-- POST a new comment on every request, as a reader's browser would.
-- Arguments after "--": PATH NONCE KIND, KIND being "ours" or "isso".
-- Each body is unique (nonce, wrk thread, counter) so duplicate detection never refuses one.
-- Each request names a different reader address in X-Forwarded-For (the servers trust
-- 127.0.0.1 as their reverse proxy), as real traffic comes from many readers: per-address
-- work such as the rate limit then costs what it costs for a reader, not for one flood.
-- The addresses are from the documentation ranges; no traffic goes to them.

counter = 0
thread_id = 0
failed = {}
local threads_made = 0
local threads = {}

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_id", threads_made)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  nonce = args[2]
  kind = args[3]
end

function reader_address()
  local n = thread_id * 100000 + counter
  return string.format("198.51.%d.%d", math.floor(n / 256) % 256, n % 256)
end

local text = "Thank you for this article. Keeping a regular bedtime helped me more than I "
  .. "expected, and the part about writing worries down before sleep was useful too. "
  .. "I would like to read more about how routines change during stressful weeks. Ref "

function request()
  counter = counter + 1
  local tag = nonce .. "-" .. thread_id .. "-" .. counter
  local body
  if kind == "isso" then
    body = '{"text":"' .. text .. tag .. '","author":"Bench Reader",'
      .. '"email":"reader@example.org","website":null,"parent":null,'
      .. '"title":"Posting thread"}'
  else
    body = '{"author":"Bench Reader","email":"reader@example.org","body":"' .. text .. tag
      .. '","parent_id":null,"notify":false,"accept_terms":true,"website":""}'
  end
  local headers = { ["Content-Type"] = "application/json",
                    ["X-Forwarded-For"] = reader_address() }
  return wrk.format("POST", path, headers, body)
end

-- Which statuses the failures were, so the report can say what went wrong and for whom.
function response(status, headers, body)
  if status >= 400 then
    local key = tostring(status)
    failed[key] = (failed[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("failed")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("Failed status %s: %d\n", status, n))
  end
end
