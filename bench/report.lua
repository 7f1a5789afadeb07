-- wrk script: counts every non-2xx response (wrk itself only counts >= 400) and prints one
-- JSON line at the end so that baseline.py can parse the run without scraping wrk's text.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  last_bad_status = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    last_bad_status = status
  end
end

function done(summary, latency, requests)
  local bad, bad_status = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    local status = thread:get("last_bad_status")
    if status ~= 0 then
      bad_status = status
    end
  end
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.6f,"rps":%.3f,"bytes":%d,'
      .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,'
      .. '"non2xx":%d,"last_bad_status":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
    bad, bad_status,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout
  ))
end
