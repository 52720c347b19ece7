-- wrk script of bench/logins.sh: POSTs the photo named by $FG_IMAGE to /api/v1/login as a raw
-- image/jpeg body (a 1:N log-in), and prints one JSON line of results at the end.
local f = assert(io.open(os.getenv("FG_IMAGE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"p50_ms":%.1f,"p99_ms":%.1f,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
