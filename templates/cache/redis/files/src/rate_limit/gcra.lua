-- GCRA (see gcra.rs for the algorithm and why): one atomic check-and-update per request.
-- KEYS[1]: the counter key. ARGV[1]: limit. ARGV[2]: period in microseconds.
-- ARGV[3]: 1 to count the request, 0 to only say what counting it would answer.
-- Returns {allowed (0|1), remaining, retry_after_us, reset_us}.
-- Redis's own clock is used, so instances with skewed clocks still agree.
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = math.max(1, math.floor(period / limit))
local capacity = interval * limit
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval
if new_tat - now > capacity then
  return {0, 0, new_tat - now - capacity, tat - now}
end
if ARGV[3] == '0' then
  return {1, math.floor((capacity - (new_tat - now)) / interval), 0, new_tat - now}
end
-- '%.0f' keeps every digit: Lua would print a microsecond timestamp as 1.7e+15.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((capacity - (new_tat - now)) / interval), 0, new_tat - now}
