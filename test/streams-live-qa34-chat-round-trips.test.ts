// Campaign live stream chat (QA pass 34): each message cost two Redis round trips. Keeping it in
// the stream's recent chat wrote the index with one script, waited for the answer, then pushed to
// the list in a MULTI; and every script went as its whole text (EVAL) with every call. The index's
// script and the list's are now sent together in one pipeline (the index's still runs first), and
// the recent chat's and the viewer counts' scripts go by their SHA1 (EVALSHA), their text once per
// connection.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { type ChatFrame, createRedisRecentChat } from '../src/modules/stream/live.chat-recent.js'
import { createRedisViewerCounter } from '../src/modules/stream/live.viewers.js'
import { redisScript } from '../src/platform/redis-script.js'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  REDIS_URL,
  sendAction,
  uniqueSlug,
  userToken,
} from './helper.js'
import { goLive, LIVE_ENV } from './live-stream-fixtures.js'
import { watchRedis } from './redis-monitor.js'
import { redisProxy } from './redis-proxy.js'

const unique = (name: string) => uniqueSlug(`qa34_${name}`)

const frame = (stream: number, text: string): ChatFrame => ({
  type: 'stream_event',
  kind: 'chat',
  stream_id: stream,
  user_id: 'user_qa34',
  message_id: `${stream}-${text}`,
  text,
})

describe('campaign stream chat in Redis: round trips and scripts by SHA1', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  it("keeps a message in one round trip: the list's script is sent before the index's is answered", async () => {
    const prefix = `${unique('trip')}:`
    const proxy = await redisProxy(REDIS_URL!)
    const redis = new Redis(proxy.url, { keyPrefix: prefix })
    const watched = await watchRedis(prefix)
    try {
      const recent = createRedisRecentChat(redis)
      await recent.push(1, frame(1, 'first'))
      const from = watched.seen.length

      // Redis's answers are kept back: whatever the push sends now, it sent without waiting for one.
      proxy.hold()
      const pushed = recent.push(1, frame(1, 'second'))
      // Sent after the push's first command; Redis runs it after whatever the push had sent by then.
      const marked = redis.exists('marker')
      await watched.until(`${prefix}marker`)
      assert.deepEqual(watched.sent(from), [
        'evalsha ovasabi:stream:chat-index',
        'evalsha ovasabi:stream:chat:1',
        'exists marker',
      ])
      proxy.release()
      await Promise.all([pushed, marked])

      // The index is still written before the list, and the list capped and given its lifetime.
      const ran = watched.seen
        .slice(from)
        .filter((s) => s.source === 'lua')
        .map((s) => s.args[0]!.toLowerCase())
      assert.deepEqual(ran, ['zadd', 'zremrangebyscore', 'rpush', 'ltrim', 'pexpire'])
      assert.deepEqual(
        (await recent.recent(1)).map((m) => m.text),
        ['first', 'second'],
      )
      assert.ok((await redis.pttl('ovasabi:stream:chat:1')) > 0, 'the list expires')
      assert.notEqual(await redis.zscore('ovasabi:stream:chat-index', '1'), null, 'the stream is indexed')
    } finally {
      proxy.release()
      await redis.del('ovasabi:stream:chat:1', 'ovasabi:stream:chat-index')
      redis.disconnect()
      proxy.cut()
      watched.close()
    }
  })

  it("counts viewers by the scripts' SHA1, their text sent once per connection", async () => {
    const prefix = `${unique('viewers')}:`
    const redis = new Redis(REDIS_URL!, { keyPrefix: prefix })
    const watched = await watchRedis(prefix)
    try {
      const viewers = createRedisViewerCounter(redis, 'node_a')
      for (let i = 1; i <= 3; i++) {
        await viewers.report(5, i)
        assert.equal(await viewers.total(5), i)
      }
      await redis.exists('marker')
      await watched.until(`${prefix}marker`)
      assert.deepEqual(watched.sent(), [
        'eval ovasabi:stream:viewers:5',
        'eval ovasabi:stream:viewers:5',
        ...Array(4).fill('evalsha ovasabi:stream:viewers:5'),
        'exists marker',
      ])
    } finally {
      await redis.del('ovasabi:stream:viewers:5')
      redis.disconnect()
      watched.close()
    }
  })

  it('runs a script defined while the client pipelines automatically, in that very tick', async () => {
    // As the app's client does: commands of one tick go out together, in a pipeline that ioredis
    // gives the scripts the client had when it made it.
    const redis = new Redis(REDIS_URL!, { keyPrefix: `${unique('auto')}:`, enableAutoPipelining: true })
    try {
      const echo = redisScript(1, `return ARGV[1] .. ':' .. KEYS[1]`)
      const before = redis.exists('k')
      const answer = echo.run(redis, ['k'], ['qa34'])
      await before
      assert.match(String(await answer), /^qa34:qa34_auto_.*:k$/)
    } finally {
      redis.disconnect()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`stream.chat over the app's Redis connection (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    it('each message is kept by two EVALSHA, nothing else on its keys; the scripts are sent whole once', async () => {
      const prefix = unique(dialect)
      const t = await buildTestApp({
        dialect,
        env: { ...LIVE_ENV, REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix },
      })
      const watched = await watchRedis(`${prefix}:ovasabi:stream:chat`)
      const marker = new Redis(REDIS_URL!)
      try {
        const slug = await createCampaign(t.app)
        const owner = await userToken(t.app, `user_owner_${slug}`)
        const id = await goLive(t.app, slug, owner)
        const { token } = await guestToken(t.app)
        const N = 5
        for (let i = 0; i <= N; i++) {
          const res = await sendAction(t.app, slug, token, 'stream.chat', { stream_id: id, text: `m${i}` })
          assert.equal(res.statusCode, 200, res.body)
        }
        const done = `${prefix}:ovasabi:stream:chat-marker`
        await marker.exists(done)
        await watched.until(done)

        const list = `evalsha :${id}`
        const sent = watched.sent().filter((s) => s !== 'exists -marker')
        assert.deepEqual(sent, [
          // The first message sends each script's text (EVAL); Redis keeps it for the others.
          'eval -index',
          `eval :${id}`,
          ...Array.from({ length: N }, () => ['evalsha -index', list]).flat(),
        ])
        const ran = watched.seen.filter((s) => s.source === 'lua').map((s) => s.args[0]!.toLowerCase())
        assert.deepEqual(
          ran,
          Array.from({ length: N + 1 }, () => [
            'zadd',
            'zremrangebyscore',
            'rpush',
            'ltrim',
            'pexpire',
          ]).flat(),
        )
      } finally {
        marker.disconnect()
        watched.close()
        await t.close()
      }
    })
  })
}
