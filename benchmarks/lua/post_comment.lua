-- POST a new comment on every request, as a reader's browser would.
-- Arguments after "--": PATH NONCE KIND, KIND being "ours" or "isso".
-- Each body is unique (nonce, wrk thread, counter) so duplicate detection never refuses one.

counter = 0
thread_id = 0
local threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_id", threads_made)
end

function init(args)
  path = args[1]
  nonce = args[2]
  kind = args[3]
  headers = { ["Content-Type"] = "application/json" }
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
  return wrk.format("POST", path, headers, body)
end
