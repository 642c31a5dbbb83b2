// Campaign live stream chat with Redis unreachable (QA pass 33). A `stream_join` whose recent chat
// could not be read was answered with an error frame although the socket had joined: the page
// took the join for lost. It is now answered `chat_recent` with `messages: []` and
// `history_unavailable: true`, and a warning is logged. A `stream.chat` failed with a masked 500;
// it is now 503 CHAT_UNAVAILABLE (with Retry-After), never acknowledged. The erasure of a person's
// messages from the recent chat no longer runs one script over keys it builds itself (not
// Redis-Cluster-safe): each list is rewritten by a script that declares it, and a stream that got
// its first message while the erasure ran is found too. And a message kept in the recent chat whose
// send then failed stayed there though its sender was told to send it again: it is taken back.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import {
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  REDIS_URL,
  sendAction,
  uniqueSlug,
  userToken,
} from './helper.js'
import { redisProxy } from './redis-proxy.js'
import { baseUrl, connect } from './realtime/client.js'
import { goLive, LIVE_ENV, socketChat, watch } from './live-stream-fixtures.js'
import { type ChatFrame, createRedisRecentChat } from '../src/modules/stream/live.chat-recent.js'

const WAIT = 10_000
const prefix = (name: string) => uniqueSlug(`qa33_${name}`)

for (const dialect of DIALECTS) {
  describe(`campaign live stream chat with Redis unreachable (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    it('a join stands, answered without the recent chat; a chat message is 503 CHAT_UNAVAILABLE', async () => {
      const proxy = await redisProxy(REDIS_URL!)
      const t = await buildTestApp({
        dialect,
        env: { ...LIVE_ENV, REDIS_URL: proxy.url, REDIS_PREFIX: prefix(dialect) },
      })
      const sockets: Array<{ close(): void }> = []
      try {
        await t.app.listen({ port: 0, host: '127.0.0.1' })
        const open = async () => {
          const { token } = await t.app.platform.tokens.issueGuest()
          const c = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
          sockets.push(c)
          return c
        }
        const slug = await createCampaign(t.app)
        const owner = await userToken(t.app, `user_owner_${slug}`)
        const id = await goLive(t.app, slug, owner)
        const { token: guest } = await guestToken(t.app)
        const said = await sendAction(t.app, slug, guest, 'stream.chat', { stream_id: id, text: 'before' })
        assert.equal(said.statusCode, 200, said.body)
        const early = await open()
        const readable = await watch(early, id, WAIT)
        assert.deepEqual(
          readable.messages.map((m: any) => m.text),
          ['before'],
        )
        assert.equal(readable.history_unavailable, undefined, 'said only when the history is missing')
        const late = await open()
        const talker = await open()
        const warnings: unknown[][] = []
        const warn = t.app.log.warn.bind(t.app.log)
        t.app.log.warn = ((...args: unknown[]) => {
          warnings.push(args)
          return (warn as (...a: unknown[]) => void)(...args)
        }) as typeof t.app.log.warn

        proxy.cut()
        const from = late.frames.length
        const degraded = await watch(late, id, WAIT)
        assert.deepEqual(degraded.messages, [])
        assert.equal(degraded.history_unavailable, true)
        assert.deepEqual(
          late.frames.slice(from).filter((f: any) => f.type === 'error'),
          [],
          'the join is not refused',
        )
        assert.ok(
          warnings.some(([fields]) => (fields as { stream_id?: number } | undefined)?.stream_id === id),
          'a warning names the stream',
        )

        const refused = await sendAction(t.app, slug, guest, 'stream.chat', { stream_id: id, text: 'lost?' })
        assert.equal(refused.statusCode, 503, refused.body)
        assert.equal(json(refused).error.code, 'CHAT_UNAVAILABLE')
        assert.equal(refused.headers['retry-after'], '5')
        const ack = await socketChat(talker, id, 'lost too?', 'qa33-chat-1', WAIT)
        assert.equal(ack.status, 'error', JSON.stringify(ack))
        assert.equal(ack.error.code, 'CHAT_UNAVAILABLE')
        assert.equal(ack.error.details.retry_after_ms, 5000)
      } finally {
        for (const c of sockets) c.close()
        await t.close()
      }
    })
  })
}

describe('a chat message refused after it was kept', () => {
  for (const store of ['memory', 'redis'] as const) {
    it(`is taken back from the recent chat (${store})`, {
      skip: store === 'redis' && !REDIS_URL && 'REDIS_URL is not set',
    }, async () => {
      const t = await buildTestApp({
        env: {
          ...LIVE_ENV,
          ...(store === 'redis' ? { REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix('taken') } : {}),
        },
      })
      const sockets: Array<{ close(): void }> = []
      try {
        await t.app.listen({ port: 0, host: '127.0.0.1' })
        const slug = await createCampaign(t.app)
        const owner = await userToken(t.app, `user_owner_${slug}`)
        const id = await goLive(t.app, slug, owner)
        const { token: guest } = await guestToken(t.app)
        const say = (text: string) => sendAction(t.app, slug, guest, 'stream.chat', { stream_id: id, text })
        assert.equal((await say('kept')).statusCode, 200)
        // The send fails after the message was kept (a bus that went away between the two steps).
        const publisher = t.app.publisher
        const publish = publisher.publish
        publisher.publish = async (audience, frame) => {
          if ((frame as { kind?: string }).kind === 'chat') throw new Error('bus gone')
          return publish.call(publisher, audience, frame)
        }
        const refused = await say('refused')
        publisher.publish = publish
        assert.equal(refused.statusCode, 503, refused.body)
        assert.equal(json(refused).error.code, 'CHAT_UNAVAILABLE')
        assert.equal((await say('after')).statusCode, 200)

        const { token } = await t.app.platform.tokens.issueGuest()
        const late = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
        sockets.push(late)
        const joined = await watch(late, id, WAIT)
        assert.deepEqual(
          joined.messages.map((m: any) => m.text),
          ['kept', 'after'],
        )
      } finally {
        for (const c of sockets) c.close()
        await t.close()
      }
    })
  }
})

describe('recent chat in Redis: erasure, one list per script', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  const frame = (stream: number, user: string, text: string): ChatFrame => ({
    type: 'stream_event',
    kind: 'chat',
    stream_id: stream,
    user_id: user,
    message_id: `${stream}-${text}`,
    text,
  })

  it("takes the person's messages pushed while it runs, on a stream that got its first one meanwhile too", async () => {
    const redis = new Redis(REDIS_URL!, { keyPrefix: `${prefix('erase')}:` })
    try {
      const recent = createRedisRecentChat(redis)
      await recent.push(1, frame(1, 'erased', 'a'))
      await recent.push(1, frame(1, 'other', 'b'))
      // Between the erasure's read of the index and its rewrites, the person's messages come:
      // on the stream it read, and on one that was not in the index yet.
      const zrange = redis.zrange.bind(redis) as (...args: unknown[]) => Promise<string[]>
      let reads = 0
      redis.zrange = (async (...args: unknown[]) => {
        const ids = await zrange(...args)
        if (reads++ === 0) {
          await recent.push(1, frame(1, 'erased', 'c'))
          await recent.push(2, frame(2, 'erased', 'd'))
          await recent.push(2, frame(2, 'other', 'e'))
        }
        return ids
      }) as typeof redis.zrange

      await recent.forget('erased')
      assert.deepEqual(
        (await recent.recent(1)).map((m) => m.text),
        ['b'],
      )
      assert.deepEqual(
        (await recent.recent(2)).map((m) => m.text),
        ['e'],
      )
      assert.ok((await redis.pttl('ovasabi:stream:chat:1')) > 0, 'a rewritten list keeps its lifetime')
    } finally {
      await redis.del('ovasabi:stream:chat:1', 'ovasabi:stream:chat:2', 'ovasabi:stream:chat-index')
      redis.disconnect()
    }
  })

  it('finds the lists older nodes indexed in their set', async () => {
    const redis = new Redis(REDIS_URL!, { keyPrefix: `${prefix('legacy')}:` })
    try {
      await redis.rpush('ovasabi:stream:chat:7', JSON.stringify(frame(7, 'erased', 'old node')))
      await redis.sadd('ovasabi:stream:chat-streams', '7')
      const recent = createRedisRecentChat(redis)
      await recent.forget('erased')
      assert.deepEqual(await recent.recent(7), [])
    } finally {
      await redis.del('ovasabi:stream:chat:7', 'ovasabi:stream:chat-streams')
      redis.disconnect()
    }
  })
})
