import { createHash } from 'node:crypto'
import { type Redis, ReplyError } from 'ioredis'
import { namePrefix, RedisUnavailableError } from '../platform/redis.js'
import { redisScript } from '../platform/redis-script.js'
import { type EventHistory, type HistoryEntry, type HistoryLimits, replayFrom } from './history.js'

const seqKey = (campaign: string) => `ovasabi:rt:seq:${campaign}`
const listKey = (campaign: string) => `ovasabi:rt:h:${campaign}`
/**
 * The kept messages naming one subject, as `<campaign> <id>` members: erasure finds them here.
 * Named by the subject's hash: an email address is no key name (monitoring lists key names).
 */
const subjectKey = (subject: string) =>
  `ovasabi:rt:s:${createHash('sha256').update(subject).digest('base64url')}`

// Id, history and publish in one script: ids reach every node in order, and a message is in the
// history before any client can see its id. ARGV[1] is the channel as Redis names it, prefix and
// all: ioredis prefixes KEYS only, and the bus subscribes under `REDIS_PREFIX`. Messages older than
// the history's age (ARGV[6], a time in ms) go as in memory: none outlives its subjects' keys
// (KEYS[3…], kept three ages), so erasure finds every one still held.
const PUBLISH = redisScript(
  'variable',
  `local id = redis.call('incr', KEYS[1])
local msg = ARGV[2] .. id .. ARGV[3]
redis.call('rpush', KEYS[2], msg)
redis.call('ltrim', KEYS[2], -tonumber(ARGV[4]), -1)
local cutoff = tonumber(ARGV[6])
while true do
  local first = redis.call('lindex', KEYS[2], 0)
  local ts = first and tonumber(string.match(first, '^{"ts":(%d+)'))
  if not ts or ts >= cutoff then break end
  redis.call('lpop', KEYS[2])
end
redis.call('pexpire', KEYS[2], ARGV[5])
for i = 3, #KEYS do
  redis.call('sadd', KEYS[i], ARGV[7] .. id)
  redis.call('pexpire', KEYS[i], ARGV[8])
end
redis.call('publish', ARGV[1], msg)
return id`,
)

// Erasure of the messages with ids ARGV of one campaign's history (KEYS[1]): each becomes its id
// and time only. Ids in the list follow one another, so the first one's id locates every other.
// The audience names no socket: a node of an earlier version, which replays it as a message,
// sends it to no one.
const FORGET = redisScript(
  1,
  `local first = redis.call('lindex', KEYS[1], 0)
if not first then return 0 end
local base = tonumber(string.match(first, '"frame":{"id":(%d+)'))
local len = redis.call('llen', KEYS[1])
local n = 0
for i = 1, #ARGV do
  local at = tonumber(ARGV[i]) - base
  if at >= 0 and at < len then
    local entry = redis.call('lindex', KEYS[1], at)
    local ts = string.match(entry, '^{"ts":(%d+)')
    if ts and string.match(entry, '"frame":{"id":(%d+)') == ARGV[i]
      and not string.find(entry, '^{"ts":%d+,"erased":true') then
      redis.call('lset', KEYS[1], at, '{"ts":' .. ts .. ',"erased":true,"audience":{"scope":"session","session_id":""},"frame":{"id":' .. ARGV[i] .. '}}')
      n = n + 1
    end
  end
end
return n`,
)

/**
 * History in Redis, shared by every node. The message is JSON like the Redis bus sends it, with
 * the id spliced in by the script, so bus subscribers receive it as any other bus message.
 */
export function createRedisHistory(redis: Redis, limits: HistoryLimits): EventHistory {
  return {
    async publish(channel, campaign, message, subjects = []) {
      const { id: _ignored, ...frame } = message.frame
      const rest = JSON.stringify(frame)
      const now = Date.now()
      const head = `{"ts":${now},"audience":${JSON.stringify(message.audience)},"frame":{"id":`
      const tail = rest.length > 2 ? `,${rest.slice(1)}}` : '}}'
      const named = [...new Set(subjects)]
      const id = await PUBLISH.run(
        redis,
        [seqKey(campaign), listKey(campaign), ...named.map(subjectKey)],
        [
          namePrefix(redis) + channel,
          head,
          tail,
          Math.max(1, limits.size),
          limits.maxAgeMs * 2,
          now - limits.maxAgeMs,
          `${campaign} `,
          limits.maxAgeMs * 3,
        ],
      )
      return Number(id)
    },
    async since(campaign, id) {
      const key = listKey(campaign)
      const [seq, head] = await Promise.all([redis.get(seqKey(campaign)), redis.lindex(key, 0)])
      const latest = Number(seq ?? 0)
      // Nothing missed, or nothing kept: no entry can change the answer.
      if (id >= latest || head === null) return replayFrom([], latest, id, limits)
      // Ids in the list follow one another: the entry after `since` is at a known index, and
      // only it and those after it are read (not the whole history for every resume).
      let base = idOf(head)
      for (let tries = 0; ; tries++) {
        const at = id + 1 - base
        // The entry after `since` is gone: the history no longer reaches back.
        if (at < 0) return { resync: true, latest }
        const entries = (await redis.lrange(key, at, -1)).map(parse)
        const first = entries[0]?.frame.id as number | undefined
        // A publish trimmed the list's front between the reads: the indices moved by as much.
        if (first !== undefined && first > id + 1 && tries < 3) {
          base += first - (id + 1)
          continue
        }
        // The entry after `since` aged out: whether the history still reaches back depends on
        // every entry before it (`replayFrom` skips aged ones from the oldest end only). Rare
        // (the client is about as old as the history), so it reads them all.
        if (at > 0 && entries[0] && entries[0].ts < Date.now() - limits.maxAgeMs) {
          return replayFrom((await redis.lrange(key, 0, -1)).map(parse), latest, id, limits)
        }
        return replayFrom(entries, latest, id, limits)
      }
    },
    async latest(campaign) {
      return Number((await redis.get(seqKey(campaign))) ?? 0)
    },
    async forget(subjects) {
      try {
        return await forget(redis, subjects)
      } catch (err) {
        // Redis answered an error (a script fault): a fault of ours, not an outage.
        if (err instanceof ReplyError) throw err
        // Unreachable, or no answer in time: the erasure fails as a whole (its transaction rolls
        // back) and is retried, rather than leave frames naming the person replayable.
        throw new RedisUnavailableError(
          'The realtime history (Redis) could not be reached: the erasure did not complete; try again',
          err,
        )
      }
    },
  }
}

const parse = (raw: string) => JSON.parse(raw) as HistoryEntry
const idOf = (raw: string) => parse(raw).frame.id as number

async function forget(redis: Redis, subjects: readonly string[]): Promise<number> {
  const keys = [...new Set(subjects)].map(subjectKey)
  const held = await Promise.all(keys.map((k) => redis.smembers(k)))
  const byCampaign = new Map<string, Set<string>>()
  for (const member of held.flat()) {
    const cut = member.lastIndexOf(' ')
    const campaign = member.slice(0, cut)
    const ids = byCampaign.get(campaign) ?? new Set()
    byCampaign.set(campaign, ids.add(member.slice(cut + 1)))
  }
  let n = 0
  for (const [campaign, ids] of byCampaign)
    n += Number(await FORGET.run(redis, [listKey(campaign)], [...ids]))
  // Only the members read: a message published meanwhile stays findable by another erasure.
  await Promise.all(keys.map((k, i) => (held[i]!.length > 0 ? redis.srem(k, ...held[i]!) : 0)))
  return n
}
