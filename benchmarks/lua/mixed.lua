-- A mixed reader load for the memory soak: thread reads, revalidations, counts and posts.
-- Arguments after "--": THREAD_PATH ETAG COUNTS_PATH POST_PATH NONCE.
-- Posts name a reader address in X-Forwarded-For, as post_comment.lua explains.
-- Per 20 requests: 12 reads of the big thread, 1 read of the thread being posted to (and
-- approved during the soak), 3 revalidations (304), 2 counts, 2 new comments.

counter = 0
thread_id = 0
local threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_id", threads_made)
end

function init(args)
  thread_path = args[1]
  etag = args[2]
  counts_path = args[3]
  post_path = args[4]
  nonce = args[5]
end

local text = "Soak test comment: the breathing exercise in this article helped on a hard "
  .. "evening, and I shared it with a friend who also finds mornings difficult. Ref "

function request()
  counter = counter + 1
  local slot = counter % 20
  if slot < 12 then
    return wrk.format("GET", thread_path)
  elseif slot < 13 then
    return wrk.format("GET", post_path)
  elseif slot < 16 then
    return wrk.format("GET", thread_path, { ["If-None-Match"] = etag })
  elseif slot < 18 then
    return wrk.format("GET", counts_path)
  end
  local body = '{"author":"Soak Reader","email":"soak@example.org","body":"' .. text
    .. nonce .. "-" .. thread_id .. "-" .. counter
    .. '","parent_id":null,"notify":false,"accept_terms":true,"website":""}'
  local n = thread_id * 100000 + counter
  local address = string.format("198.51.%d.%d", math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", post_path, { ["Content-Type"] = "application/json",
                                         ["X-Forwarded-For"] = address }, body)
end

-- Name the first few failures, so an error in the table can be traced.
local failures = 0

function response(status, headers, body)
  if status >= 400 and failures < 3 then
    failures = failures + 1
    io.write(string.format("failure: status %d body %s\n", status, string.sub(body or "", 1, 200)))
  end
end
