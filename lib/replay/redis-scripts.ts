/**
 * Lua scripts of the Redis replay store. Each runs atomically in Redis, so an append (and
 * the PUBLISH the Redis backplane adds to it) and a read see one consistent stream.
 *
 * Keys per channel (KEYS[1], KEYS[2]): the stream `<prefix>{<channel>}` and its meta hash
 * `<prefix>{<channel>}:meta` with `epoch` (random, made when the stream is created) and
 * `last` (the newest stream id). Each stream entry holds `p` (the previous entry's id, so
 * a reader can tell "the id just before the oldest retained entry" from a real gap), `d`
 * (data) and, when set, `e` (event name).
 */

/** Compares two stream ids `ms-seq` without leading zeros, as numbers (string-wise). */
const CMP = `
local function num (a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function cmp (a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local c = num(am, bm)
  if c ~= 0 then return c end
  return num(as, bs)
end
`

/**
 * APPEND. ARGV: epoch candidate, maxLen, maxAgeMs ('' = none), pub/sub channel ('' = no
 * publish), data, [event]. Returns the public id `<epoch>:<stream id>`.
 */
export const APPEND = `
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'last')
local epoch, prev = meta[1], meta[2]
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  prev = '0-0'
end
local id
if ARGV[6] then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', prev, 'd', ARGV[5], 'e', ARGV[6])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', prev, 'd', ARGV[5])
end
redis.call('HSET', KEYS[2], 'epoch', epoch, 'last', id)
if ARGV[3] ~= '' then
  local t = redis.call('TIME')
  local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[3])
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', oldest))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local public = epoch .. ':' .. id
if ARGV[4] ~= '' then
  local message = public .. '\\n' .. (ARGV[6] and ('1' .. ARGV[6]) or '0') .. '\\n' .. ARGV[5]
  redis.call('PUBLISH', ARGV[4], message)
end
return public
`

/**
 * READ_AFTER. ARGV: epoch, stream id (already validated). Returns {'gap', reason} or
 * {'ok', entries} with the entries after the id (exclusive range).
 */
export const READ_AFTER = CMP + `
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'last')
if meta[1] ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then return {'gap', 'epoch'} end
local after, last = ARGV[2], meta[2]
local c = cmp(after, last)
if c > 0 then return {'gap', 'unknown'} end
if c == 0 then return {'ok', {}} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first then return {'gap', 'expired'} end
if cmp(after, first[1]) < 0 and first[2][2] ~= after then return {'gap', 'expired'} end
return {'ok', redis.call('XRANGE', KEYS[1], '(' .. after, '+')}
`

/** LAST_ID. Returns the public id of the newest event, or false when there is none. */
export const LAST_ID = `
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'last')
if not meta[1] or not meta[2] or redis.call('EXISTS', KEYS[1]) == 0 then return false end
return meta[1] .. ':' .. meta[2]
`
