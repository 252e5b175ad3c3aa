-- Every change to the job queue, one atomic script (see docs/JOBS.md for the keys).
-- ARGV[1] names the operation, ARGV[2] is the key prefix B (`<REDIS_KEY_PREFIX>:jobs`);
-- the rest are the operation's arguments. Times are milliseconds of Redis's own clock, so
-- instances with skewed clocks agree on leases and due times.
--
-- B:job:<id>                hash: queue, name, payload, state, attempts, max_attempts,
--                           run_at, created_at, updated_at, unique_key, last_error,
--                           locked_by, locked_until
-- B:queued:<queue>          zset of queued ids by run_at (due and delayed alike)
-- B:queues                  set of queue names
-- B:running                 zset of running ids by the end of their lease
-- B:idx:all, B:idx:q:<queue>, B:idx:s:<state>, B:idx:sq:<state>:<queue>
--                           zsets of ids by created_at, for the admin list
-- B:unique:<name>:<key>     id of the queued or running job holding a unique key
-- B:tick:<schedule>:<tick>  a schedule tick already enqueued (expires after a week)
-- B:relayed:<id>            an outbox row already handed over (expires after a day)
-- channel B:wake            published when a job becomes due now

local op, b = ARGV[1], ARGV[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function job_key(id)
  return b .. ':job:' .. id
end

-- Moves a job between the state indexes of the admin list.
local function move(id, queue, from, to, created)
  if from then
    redis.call('ZREM', b .. ':idx:s:' .. from, id)
    redis.call('ZREM', b .. ':idx:sq:' .. from .. ':' .. queue, id)
  end
  if to then
    redis.call('ZADD', b .. ':idx:s:' .. to, created, id)
    redis.call('ZADD', b .. ':idx:sq:' .. to .. ':' .. queue, created, id)
  end
end

-- Frees the job's unique key, if it holds one.
local function release_unique(id, name, unique)
  if unique and unique ~= '' then
    local key = b .. ':unique:' .. name .. ':' .. unique
    if redis.call('GET', key) == id then
      redis.call('DEL', key)
    end
  end
end

-- Whether the run `attempt` of a running job still holds it (fences acks of a lost lease).
local function holds(id, attempt)
  local job = redis.call('HMGET', job_key(id), 'state', 'attempts')
  return job[1] == 'running' and job[2] == attempt
end

-- Takes a running job off its lease, with the fields the callers need.
local function unlease(id)
  redis.call('ZREM', b .. ':running', id)
  redis.call('HDEL', job_key(id), 'locked_by', 'locked_until')
  return redis.call('HMGET', job_key(id), 'queue', 'name', 'unique_key', 'created_at')
end

-- A running job queued again at `run_at`.
local function requeue(id, run_at, fields)
  redis.call('HSET', job_key(id), 'state', 'queued', 'run_at', run_at, 'updated_at', now)
  redis.call('ZADD', b .. ':queued:' .. fields[1], run_at, id)
  move(id, fields[1], 'running', 'queued', fields[4])
end

-- A running job ended `failed`.
local function fail(id, fields)
  redis.call('HSET', job_key(id), 'state', 'failed', 'updated_at', now)
  release_unique(id, fields[2], fields[3])
  move(id, fields[1], 'running', 'failed', fields[4])
end

if op == 'enqueue' then
  -- id, queue, name, payload, max_attempts, run_at (or ''), unique_key (or ''),
  -- tick (or ''), relayed (1 for an outbox row)
  -- -> {1, id} queued, {2, id} the job holding the unique key, {0, ''} tick taken,
  --    {3, id} outbox row handed over before
  local id, queue, name, payload = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
  local unique, tick = ARGV[9], ARGV[10]
  if tick ~= '' and not redis.call('SET', b .. ':tick:' .. tick, id, 'NX', 'EX', 604800) then
    return {0, ''}
  end
  if ARGV[11] == '1' and not redis.call('SET', b .. ':relayed:' .. id, 1, 'NX', 'EX', 86400) then
    return {3, id}
  end
  if unique ~= '' then
    local key = b .. ':unique:' .. name .. ':' .. unique
    local holder = redis.call('GET', key)
    if holder then
      local state = redis.call('HGET', job_key(holder), 'state')
      if state == 'queued' or state == 'running' then
        return {2, holder}
      end
    end
    redis.call('SET', key, id)
  end
  local run_at = tonumber(ARGV[8]) or now
  redis.call('HSET', job_key(id), 'queue', queue, 'name', name, 'payload', payload,
    'state', 'queued', 'attempts', 0, 'max_attempts', ARGV[7], 'run_at', run_at,
    'created_at', now, 'updated_at', now, 'unique_key', unique)
  redis.call('ZADD', b .. ':queued:' .. queue, run_at, id)
  redis.call('SADD', b .. ':queues', queue)
  redis.call('ZADD', b .. ':idx:all', now, id)
  redis.call('ZADD', b .. ':idx:q:' .. queue, now, id)
  move(id, queue, nil, 'queued', now)
  if run_at <= now then
    redis.call('PUBLISH', b .. ':wake', queue)
  end
  return {1, id}
elseif op == 'claim' then
  -- worker, limit, lease_ms, queues... (none: every queue)
  -- -> {{id, name, queue, payload, attempt, max_attempts}, ...}
  local worker, limit, lease = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
  local queues = {}
  for i = 6, #ARGV do
    queues[#queues + 1] = ARGV[i]
  end
  if #queues == 0 then
    queues = redis.call('SMEMBERS', b .. ':queues')
  end
  local due = {}
  for _, queue in ipairs(queues) do
    local ids = redis.call('ZRANGEBYSCORE', b .. ':queued:' .. queue, '-inf', now,
      'WITHSCORES', 'LIMIT', 0, limit)
    for i = 1, #ids, 2 do
      due[#due + 1] = {ids[i], tonumber(ids[i + 1]), queue}
    end
  end
  -- Oldest due first across queues, as one queue would order them.
  table.sort(due, function(x, y)
    if x[2] == y[2] then
      return x[1] < y[1]
    end
    return x[2] < y[2]
  end)
  local claimed = {}
  for i = 1, math.min(limit, #due) do
    local id, queue = due[i][1], due[i][3]
    local key = job_key(id)
    redis.call('ZREM', b .. ':queued:' .. queue, id)
    local attempt = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'state', 'running', 'locked_by', worker,
      'locked_until', now + lease, 'updated_at', now)
    redis.call('ZADD', b .. ':running', now + lease, id)
    local fields = redis.call('HMGET', key, 'name', 'payload', 'max_attempts', 'created_at')
    move(id, queue, 'queued', 'running', fields[4])
    claimed[#claimed + 1] = {id, fields[1], queue, fields[2], attempt, tonumber(fields[3])}
  end
  return claimed
elseif op == 'complete' then
  -- id, attempt -> 1 when this run held the job (which is deleted), else 0
  local id = ARGV[3]
  if not holds(id, ARGV[4]) then
    return 0
  end
  local fields = unlease(id)
  release_unique(id, fields[2], fields[3])
  move(id, fields[1], 'running', nil)
  redis.call('ZREM', b .. ':idx:all', id)
  redis.call('ZREM', b .. ':idx:q:' .. fields[1], id)
  redis.call('DEL', job_key(id))
  return 1
elseif op == 'retry' then
  -- id, attempt, delay_ms, error -> 1 when this run held the job, else 0
  local id = ARGV[3]
  if not holds(id, ARGV[4]) then
    return 0
  end
  local fields = unlease(id)
  redis.call('HSET', job_key(id), 'last_error', ARGV[6])
  requeue(id, now + tonumber(ARGV[5]), fields)
  return 1
elseif op == 'fail' then
  -- id, attempt, error -> 1 when this run held the job, else 0
  local id = ARGV[3]
  if not holds(id, ARGV[4]) then
    return 0
  end
  local fields = unlease(id)
  redis.call('HSET', job_key(id), 'last_error', ARGV[5])
  fail(id, fields)
  return 1
elseif op == 'extend' then
  -- id, attempt, lease_ms -> 1 when this run still holds the job, else 0
  local id = ARGV[3]
  if not holds(id, ARGV[4]) then
    return 0
  end
  local lease = now + tonumber(ARGV[5])
  redis.call('HSET', job_key(id), 'locked_until', lease)
  redis.call('ZADD', b .. ':running', lease, id)
  return 1
elseif op == 'release' then
  -- worker -> how many of its running jobs were queued again (the run not counted)
  local released = 0
  for _, id in ipairs(redis.call('ZRANGE', b .. ':running', 0, -1)) do
    if redis.call('HGET', job_key(id), 'locked_by') == ARGV[3] then
      local fields = unlease(id)
      redis.call('HINCRBY', job_key(id), 'attempts', -1)
      requeue(id, now, fields)
      released = released + 1
    end
  end
  if released > 0 then
    redis.call('PUBLISH', b .. ':wake', '')
  end
  return released
elseif op == 'sweep' then
  -- -> how many jobs of expired leases were taken back (queued again, or failed when
  --    that was their last attempt)
  local expired = redis.call('ZRANGEBYSCORE', b .. ':running', '-inf', '(' .. now,
    'LIMIT', 0, 1000)
  for _, id in ipairs(expired) do
    local job = redis.call('HMGET', job_key(id), 'attempts', 'max_attempts')
    local fields = unlease(id)
    redis.call('HSET', job_key(id), 'last_error',
      'the worker running it stopped responding (lease expired)')
    if tonumber(job[1]) >= tonumber(job[2]) then
      fail(id, fields)
    else
      requeue(id, now, fields)
    end
  end
  return #expired
elseif op == 'retry_failed' then
  -- id -> 1 queued again with fresh attempts, 0 not failed (or gone), -1 its unique key
  --    is held by another queued or running job
  local id = ARGV[3]
  local fields = redis.call('HMGET', job_key(id), 'queue', 'name', 'unique_key',
    'created_at', 'state')
  if fields[5] ~= 'failed' then
    return 0
  end
  if fields[3] and fields[3] ~= '' then
    local key = b .. ':unique:' .. fields[2] .. ':' .. fields[3]
    local holder = redis.call('GET', key)
    if holder and holder ~= id then
      local state = redis.call('HGET', job_key(holder), 'state')
      if state == 'queued' or state == 'running' then
        return -1
      end
    end
    redis.call('SET', key, id)
  end
  redis.call('HSET', job_key(id), 'state', 'queued', 'attempts', 0, 'run_at', now,
    'updated_at', now)
  redis.call('ZADD', b .. ':queued:' .. fields[1], now, id)
  move(id, fields[1], 'failed', 'queued', fields[4])
  redis.call('PUBLISH', b .. ':wake', fields[1])
  return 1
elseif op == 'cancel' then
  -- id -> 1 cancelled, 0 not queued (or gone)
  local id = ARGV[3]
  local fields = redis.call('HMGET', job_key(id), 'queue', 'name', 'unique_key',
    'created_at', 'state')
  if fields[5] ~= 'queued' then
    return 0
  end
  redis.call('ZREM', b .. ':queued:' .. fields[1], id)
  redis.call('HSET', job_key(id), 'state', 'cancelled', 'updated_at', now)
  release_unique(id, fields[2], fields[3])
  move(id, fields[1], 'queued', 'cancelled', fields[4])
  return 1
end
return redis.error_reply('unknown job queue operation ' .. tostring(op))
