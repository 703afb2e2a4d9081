"""The Lua scripts of the Redis queue (core/motia_core/queue/redis.py). Each script runs atomically in
Redis: an enqueue of N copies, a lease, or the fate of a delivery either happens whole or not at all.

Key layout, all under one hash tag `{P}` (the project's prefix) so every key of the project's queue
lives in one Redis Cluster slot, which is what lets one script fan an emit out to several
subscriptions atomically. `B` below is `{P}:q:`; scripts get it as ARGV[1] and build the keys of the
event ids they meet (all in the same slot; KEYS[1] is always a real key of that slot for routing).

    B e:<id>                       hash: one queued event (sub, topic, data, trace, group, attempts,
                                   lease, created, visible, failures)
    B s:<sub>                      stream: ids of events ready for delivery, consumer group "motia";
                                   an entry with an empty id wakes a pump (a delay due sooner)
    B d:<sub>                      sorted set: ids waiting for a delay (score: due time, ms, Redis clock)
    B n:<sub>                      string: events of the subscription not yet acked or buried (depth)
    B gl:<sub>                     hash: FIFO group -> id of the group's one event out (ready, leased or
                                   waiting for a retry)
    B gq:<len(sub)>:<sub>:<group>  list: the group's other events, oldest first
    B fifo                         hash: sub -> "1" for FIFO subscriptions
    B x:<id>                       hash: one dead letter (the event hash, renamed, plus `died`)
    B dead                         sorted set: dead letter ids by time of death (ms)
    B alive:<consumer>             string with a TTL: the instance owning that consumer name is alive
    B closing:<consumer>           string with a TTL: that instance is stopping (READ leases nothing)

Times are the Redis server's clock (`TIME`), so instances with skewed clocks agree on delays.
"""

from __future__ import annotations

GROUP = "motia"  # the one consumer group of every subscription stream (spelled out in the scripts)

_COMMON = """
local B = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- wait for a delay. A pump blocks on its stream until the earliest due time it knows of: an event
-- due sooner puts an empty marker entry (id '') on the stream, which wakes a blocked pump to look
-- again (materialize drops the marker)
local function schedule(sub, id, visible)
  local delayed = B .. 'd:' .. sub
  redis.call('ZADD', delayed, visible, id)
  if redis.call('ZRANGE', delayed, 0, 0)[1] == id then
    redis.call('XADD', B .. 's:' .. sub, '*', 'id', '')
  end
end
-- put an event whose hash exists where it belongs: its FIFO group's line, the delay set, or the stream
local function route(sub, id, grp, visible, now)
  if grp ~= '' and redis.call('HGET', B .. 'fifo', sub) == '1' then
    local holder = redis.call('HGET', B .. 'gl:' .. sub, grp)
    if holder and holder ~= id then
      redis.call('RPUSH', B .. 'gq:' .. string.len(sub) .. ':' .. sub .. ':' .. grp, id)
      return
    end
    redis.call('HSET', B .. 'gl:' .. sub, grp, id)
  end
  if visible > now then
    schedule(sub, id, visible)
  else
    redis.call('XADD', B .. 's:' .. sub, '*', 'id', id)
  end
end
-- the group's event is done (acked or buried): let its next one out
local function release(sub, id, grp, now)
  if grp == '' then return end
  local gl = B .. 'gl:' .. sub
  if redis.call('HGET', gl, grp) ~= id then return end
  local line = B .. 'gq:' .. string.len(sub) .. ':' .. sub .. ':' .. grp
  while true do
    local nxt = redis.call('LPOP', line)
    if not nxt then
      redis.call('HDEL', gl, grp)
      return
    end
    local visible = redis.call('HGET', B .. 'e:' .. nxt, 'visible')
    if visible then
      redis.call('HSET', gl, grp, nxt)
      if tonumber(visible) > now then
        schedule(sub, nxt, visible)
      else
        redis.call('XADD', B .. 's:' .. sub, '*', 'id', nxt)
      end
      return
    end
  end
end
local function depth(sub)
  return tonumber(redis.call('GET', B .. 'n:' .. sub) or '0')
end
local function append_failure(key, failure)
  local chain = redis.call('HGET', key, 'failures')
  if chain == '[]' then
    chain = '[' .. failure .. ']'
  else
    chain = string.sub(chain, 1, -2) .. ',' .. failure .. ']'
  end
  redis.call('HSET', key, 'failures', chain)
end
"""

# KEYS[1] = B fifo. ARGV[1] = B, then 10 fields per event:
# sub, id, topic, data, trace, group, attempts, created, delay_ms, parent (the emitting span).
# Returns the depth of each sub. The copies of concurrent emits share one call.
ENQUEUE = (
    _COMMON
    + """
local now = now_ms()
local depths = {}
for i = 2, #ARGV, 10 do
  local sub, id, grp = ARGV[i], ARGV[i + 1], ARGV[i + 5]
  local visible = now + tonumber(ARGV[i + 8])
  local key = B .. 'e:' .. id
  if redis.call('EXISTS', key) == 0 then  -- a client's retry of a call that did run stores nothing twice
    redis.call('HSET', key, 'sub', sub, 'topic', ARGV[i + 2], 'data', ARGV[i + 3],
      'trace', ARGV[i + 4], 'group', grp, 'attempts', ARGV[i + 6], 'lease', 0, 'created', ARGV[i + 7],
      'visible', visible, 'failures', '[]', 'parent', ARGV[i + 9])
    redis.call('INCR', B .. 'n:' .. sub)
    route(sub, id, grp, visible, now)
  end
  depths[#depths + 1] = depth(sub)
end
return depths
"""
)

# Hand out leased stream entries: count the attempt, bump the lease token, return the event.
# Entries whose event hash is gone (acked through an older lease) are dropped.
_MATERIALIZE = """
local function materialize(stream, entries, out)
  for _, entry in ipairs(entries) do
    local eid, fields = entry[1], entry[2]
    local id = fields and fields[2]
    local key = id and (B .. 'e:' .. id)
    if key and redis.call('EXISTS', key) == 1 then
      redis.call('HINCRBY', key, 'attempts', 1)
      local lease = redis.call('HINCRBY', key, 'lease', 1)
      local v = redis.call('HMGET', key, 'topic', 'data', 'trace', 'group', 'attempts', 'created', 'parent')
      out[#out + 1] = {eid, id, lease, v[1], v[2], v[3], v[4], v[5], v[6], v[7] or ''}
    else
      redis.call('XACK', stream, 'motia', eid)
      redis.call('XDEL', stream, eid)
    end
  end
end
local function next_due(sub, now)
  local first = redis.call('ZRANGE', B .. 'd:' .. sub, 0, 0, 'WITHSCORES')
  if first[2] then return math.max(0, tonumber(first[2]) - now) end
  return -1
end
"""

# KEYS[1] = B s:<sub>. ARGV = B, sub, consumer, count, claim_idle_ms (-1: no reclaim this time), cursor,
# takeover ('1': look for dead consumers; '0' right after an outage, when live ones may not have
# renewed their keys yet), recover ('1' after a failed call: a READ whose reply was lost, or a lease
# call cut off, left entries leased to this consumer that it does not know of), then
# the entry ids this consumer does hold.
# Promotes due delayed events; takes over the leases of consumers whose liveness key `B alive:<name>`
# expired (their instance died) and forgets such consumers once they hold nothing; reclaims leases
# idle past the visibility timeout (XAUTOCLAIM, from any consumer); then reads new entries.
# Returns {cursor, depth, ms to next due (-1: none), events, orphans still to recover, entries leased
# in the group (any consumer's; 0: no reclaim can be due until an entry is read)}.
LEASE = (
    _COMMON
    + _MATERIALIZE
    + """
local stream, sub, consumer, count = KEYS[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local claim_ms, cursor, takeover = tonumber(ARGV[5]), ARGV[6], ARGV[7] == '1'
local now = now_ms()
local out, orphans = {}, 0
if ARGV[8] == '1' then
  local held, ids = {}, {}
  for i = 9, #ARGV do held[ARGV[i]] = true end
  for _, p in ipairs(redis.call('XPENDING', stream, 'motia', '-', '+', count + #ARGV, consumer)) do
    if not held[p[1]] then
      if #ids < count then ids[#ids + 1] = p[1] else orphans = orphans + 1 end
    end
  end
  if #ids > 0 then materialize(stream, redis.call('XCLAIM', stream, 'motia', consumer, 0, unpack(ids)), out) end
end
local delayed = B .. 'd:' .. sub
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 512)
for _, id in ipairs(due) do
  redis.call('ZREM', delayed, id)
  if redis.call('EXISTS', B .. 'e:' .. id) == 1 then
    redis.call('XADD', stream, '*', 'id', id)
  end
end
if claim_ms >= 0 then
  if takeover then
    -- a consumer whose instance stopped renewing its liveness key is gone: take its leases now
    for _, info in ipairs(redis.call('XINFO', 'CONSUMERS', stream, 'motia')) do
      local c = {}
      for j = 1, #info, 2 do c[info[j]] = info[j + 1] end
      if c['name'] ~= consumer and redis.call('EXISTS', B .. 'alive:' .. c['name']) == 0 then
        if c['pending'] == 0 then
          redis.call('XGROUP', 'DELCONSUMER', stream, 'motia', c['name'])
        elseif #out < count then
          local ids = {}
          for _, p in ipairs(redis.call('XPENDING', stream, 'motia', '-', '+', count - #out, c['name'])) do
            ids[#ids + 1] = p[1]
          end
          materialize(stream, redis.call('XCLAIM', stream, 'motia', consumer, 0, unpack(ids)), out)
        end
      end
    end
  end
  if #out < count then
    local r = redis.call('XAUTOCLAIM', stream, 'motia', consumer, claim_ms, cursor, 'COUNT', count - #out)
    cursor = r[1]
    materialize(stream, r[2], out)
  end
end
if #out < count then
  local r = redis.call('XREADGROUP', 'GROUP', 'motia', consumer, 'COUNT', count - #out, 'STREAMS', stream, '>')
  if r then materialize(stream, r[1][2], out) end
end
return {cursor, depth(sub), next_due(sub, now), out, orphans, redis.call('XPENDING', stream, 'motia')[1]}
"""
)

# KEYS[1] = B s:<sub>. ARGV = B, sub, consumer, count. Sent in one pipeline right after the pump's
# `XREAD COUNT 1 BLOCK <ms> STREAMS <stream> <id>` (id: the group's last-delivered-id as this script
# last saw it), so Redis runs it the moment the wait ends: one round trip per wake-up instead of a
# blocking XREADGROUP and then a script. Reads new entries for the group and materializes them
# (markers are dropped; their delay shows in the ms to next due). Nothing once `B closing:<consumer>`
# exists: close() sets it before it unblocks the wait, so a stopping instance leases nothing more.
# Returns {last-delivered-id, depth, ms to next due, events, entries leased in the group}, also when
# nothing was read: another instance may have taken the entry (or the marker) that ended the wait, and
# its lease and delay are what tell this pump when to look (LEASE) next.
READ = (
    _COMMON
    + _MATERIALIZE
    + """
local stream, sub, consumer = KEYS[1], ARGV[2], ARGV[3]
local out = {}
if redis.call('EXISTS', B .. 'closing:' .. consumer) == 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'motia', consumer, 'COUNT', tonumber(ARGV[4]), 'STREAMS', stream, '>')
  if r then materialize(stream, r[1][2], out) end
end
local last, pending = '0-0', 0
for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
  local f = {}
  for j = 1, #g, 2 do f[g[j]] = g[j + 1] end
  if f['name'] == 'motia' then last, pending = f['last-delivered-id'], f['pending'] end
end
return {last, depth(sub), next_due(sub, now_ms()), out, pending}
"""
)

# KEYS[1] = B fifo (routing only). ARGV = B, then 8 fields per fate: sub, op (ack|retry|free|bury),
# entry id, event id, lease token, delay_ms, failure JSON, group. Returns {status, depth} per fate,
# flat; status 1 applied, 0 the event was already gone, -1 stale (a newer lease owns the event: a retry
# or burial from an expired lease is ignored). Fates of deliveries ending together share one call.
FATES = (
    _COMMON
    + """
local function fate(sub, op, eid, id, token, delay, failure, grp, now)
  local stream = B .. 's:' .. sub
  local key = B .. 'e:' .. id
  local lease = redis.call('HGET', key, 'lease')
  if not lease then
    redis.call('XACK', stream, 'motia', eid)
    redis.call('XDEL', stream, eid)
    return 0
  end
  if op ~= 'ack' and lease ~= token then return -1 end
  redis.call('XACK', stream, 'motia', eid)
  redis.call('XDEL', stream, eid)
  if op == 'ack' then
    redis.call('DEL', key)
    redis.call('DECR', B .. 'n:' .. sub)
    release(sub, id, grp, now)
  elseif op == 'bury' then
    append_failure(key, failure)
    redis.call('HSET', key, 'died', now)
    redis.call('RENAME', key, B .. 'x:' .. id)
    redis.call('ZADD', B .. 'dead', now, id)
    redis.call('DECR', B .. 'n:' .. sub)
    release(sub, id, grp, now)
  else
    if op == 'free' then
      if tonumber(redis.call('HGET', key, 'attempts')) > 0 then redis.call('HINCRBY', key, 'attempts', -1) end
    else
      append_failure(key, failure)
    end
    local visible = now + tonumber(delay)
    redis.call('HSET', key, 'visible', visible)
    if visible > now then
      schedule(sub, id, visible)
    else
      redis.call('XADD', stream, '*', 'id', id)
    end
  end
  return 1
end
local now = now_ms()
local out = {}
for i = 2, #ARGV, 8 do
  local sub = ARGV[i]
  out[#out + 1] = fate(sub, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6],
    ARGV[i + 7], now)
  out[#out + 1] = depth(sub)
end
return out
"""
)

# KEYS[1] = B dead. ARGV = B, letter id, created (seconds). A fresh event: attempts and failures reset.
REPLAY = (
    _COMMON
    + """
local id = ARGV[2]
local dead = B .. 'x:' .. id
if redis.call('EXISTS', dead) == 0 then return 0 end
local key = B .. 'e:' .. id
local now = now_ms()
redis.call('RENAME', dead, key)
redis.call('HDEL', key, 'died')
redis.call('HSET', key, 'attempts', 0, 'lease', 0, 'failures', '[]', 'created', ARGV[3], 'visible', now)
redis.call('ZREM', KEYS[1], id)
local v = redis.call('HMGET', key, 'sub', 'group')
redis.call('INCR', B .. 'n:' .. v[1])
route(v[1], id, v[2], now, now)
return 1
"""
)

# KEYS[1] = B dead. ARGV = B, letter id or '' for all. Returns how many were deleted.
PURGE = """
local B = ARGV[1]
local ids
if ARGV[2] ~= '' then
  if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return redis.call('DEL', B .. 'x:' .. ARGV[2]) end
  ids = {ARGV[2]}
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
end
for _, id in ipairs(ids) do redis.call('DEL', B .. 'x:' .. id) end
return #ids
"""

# KEYS[1] = B s:<sub>. ARGV = consumer. Forget this consumer only if it holds no lease (deleting a
# consumer with pending entries would orphan them: XAUTOCLAIM could never hand them out again).
FORGET_CONSUMER = """
local pending = redis.call('XPENDING', KEYS[1], 'motia', '-', '+', 1, ARGV[1])
if #pending == 0 then redis.call('XGROUP', 'DELCONSUMER', KEYS[1], 'motia', ARGV[1]) end
return #pending
"""
