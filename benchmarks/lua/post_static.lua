-- POST the same JSON body on every request (Isso's POST /count takes its list of URIs so).
-- Arguments after "--": the body.

function init(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/json"
end
