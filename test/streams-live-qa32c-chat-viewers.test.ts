// Campaign live stream chat goes to the stream's viewers only (QA pass 32c). `stream.chat` was
// published to the whole campaign: every socket on the page got every stream's chat, joined or
// not. It now reaches the sockets that sent `stream_join` for that stream, on every node, and a
// socket that joins is answered with the stream's recent chat (`chat_recent`, the last 50), kept
// in Redis with REDIS_URL (so a viewer on another node reads it) and dropped when the stream ends.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import {
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  REDIS_URL,
  sendAction,
  uniqueSlug,
  userToken,
} from './helper.js'
import type { TestClient } from './realtime/client.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { twoNodesOnRedis } from './realtime/two-nodes.js'
import { goLive, LIVE_ENV, socketChat, watch } from './live-stream-fixtures.js'
import { waitFor } from './wait-for.js'

const WAIT = 20_000
const isChat = (f: any) => f.type === 'stream_event' && f.kind === 'chat'

/** `stream.chat` through REST by a new guest session of `app`. */
async function restChat(app: FastifyInstance, slug: string, id: number, text: string) {
  const { token } = await guestToken(app)
  const res = await sendAction(app, slug, token, 'stream.chat', { stream_id: id, text })
  assert.equal(res.statusCode, 200, res.body)
}

/**
 * The owner pauses stream `id`: its status frame goes to every socket of the campaign after the
 * chat sent before it (one channel, in order), so once `c` has it, `c` got every chat it ever will.
 */
async function pausedSeenBy(app: FastifyInstance, slug: string, owner: string, id: number, cs: TestClient[]) {
  const res = await sendAction(app, slug, owner, 'stream.pause', { stream_id: id })
  assert.equal(res.statusCode, 200, res.body)
  for (const c of cs)
    await c.next((f) => f.type === 'stream_event' && f.kind === 'status' && f.status === 'paused', WAIT)
}

/**
 * A member chats on a live stream of `app`, a guest too; the member erases their account: a
 * socket that joins (`late`) gets the guest's message only.
 */
async function erasedLeaveRecentChat(app: FastifyInstance, slug: string, late: () => Promise<TestClient>) {
  const owner = await userToken(app, `user_owner_${slug}`)
  const id = await goLive(app, slug, owner)
  const joined = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${(await guestToken(app)).token}` },
    payload: { campaign: slug, email: `chatty_${slug}@example.com`, name: 'Chatty' },
  })
  assert.equal(joined.statusCode, 201, joined.body)
  const member = json(joined) as { user: { id: string }; token: string }
  const said = await sendAction(app, slug, member.token, 'stream.chat', { stream_id: id, text: 'mine' })
  assert.equal(said.statusCode, 200, said.body)
  await restChat(app, slug, id, 'a guest’s')
  const before = await watch(await late(), id, WAIT)
  assert.deepEqual(
    before.messages.map((m: any) => [m.user_id, m.text]),
    [
      [member.user.id, 'mine'],
      ['guest', 'a guest’s'],
    ],
  )
  const erased = await app.inject({
    method: 'DELETE',
    url: `/api/user/${member.user.id}`,
    headers: { authorization: `Bearer ${member.token}` },
  })
  assert.equal(erased.statusCode, 200, erased.body)
  const after = await watch(await late(), id, WAIT)
  assert.deepEqual(
    after.messages.map((m: any) => [m.user_id, m.text]),
    [['guest', 'a guest’s']],
  )
}

for (const dialect of DIALECTS) {
  describe(`campaign live stream chat to its viewers only (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: LIVE_ENV })

    it("reaches the sockets that joined the stream, not the campaign's other sockets", async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = await goLive(live.app, slug, owner)
      const otherOwner = await userToken(live.app, `user_other_${slug}`)
      const otherId = await goLive(live.app, slug, otherOwner, 'Other')

      const viewer = await live.openGuest(slug)
      assert.deepEqual((await watch(viewer, id, WAIT)).messages, [], 'no chat yet')
      const bystander = await live.openGuest(slug)
      const otherViewer = await live.openGuest(slug)
      await watch(otherViewer, otherId, WAIT)
      const talker = await live.openGuest(slug)

      const ack = await socketChat(talker, id, 'hello viewers', 'chat-1', WAIT)
      assert.equal(ack.status, 'success', JSON.stringify(ack))
      const heard = await viewer.next(isChat, WAIT)
      assert.equal(heard.text, 'hello viewers')
      assert.equal(heard.stream_id, id)

      await pausedSeenBy(live.app, slug, owner, id, [viewer, bystander, otherViewer, talker])
      for (const [name, c] of Object.entries({ bystander, otherViewer, talker }))
        assert.deepEqual(c.frames.filter(isChat), [], `${name} got no chat of stream ${id}`)
      assert.equal(viewer.frames.filter(isChat).length, 1)
    })

    it('a socket that joins gets the last 50 messages, oldest first', async () => {
      const slug = await createCampaign(live.app)
      const owner = await userToken(live.app, `user_owner_${slug}`)
      const id = await goLive(live.app, slug, owner)
      const quiet = await goLive(live.app, slug, await userToken(live.app, `user_quiet_${slug}`), 'Quiet')
      for (let i = 0; i < 55; i++) await restChat(live.app, slug, id, `m${i}`)

      const late = await live.openGuest(slug)
      const recent = await watch(late, id, WAIT)
      assert.deepEqual(
        recent.messages.map((m: any) => m.text),
        Array.from({ length: 50 }, (_, i) => `m${i + 5}`),
      )
      assert.ok(recent.messages.every((m: any) => isChat(m) && m.stream_id === id && m.user_id === 'guest'))
      // Another stream's recent chat is its own.
      assert.deepEqual((await watch(late, quiet, WAIT)).messages, [])
      // Joined: what comes next arrives live.
      await restChat(live.app, slug, id, 'live now')
      assert.equal((await late.next(isChat, WAIT)).text, 'live now')
    })

    it("an erased person's messages leave the recent chat", async () => {
      const slug = await createCampaign(live.app)
      await erasedLeaveRecentChat(live.app, slug, () => live.openGuest(slug))
    })
  })
}

describe('campaign live stream chat across two nodes', {
  skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'REDIS_URL and DATABASE_URL are needed',
}, () => {
  // A prefix of this run's own: stream ids start again in each fresh database, and the recent
  // chat of an earlier run's stream 1 is still in Redis for hours.
  const prefix = uniqueSlug('qa32c')
  const nodes = twoNodesOnRedis('postgres', { env: { ...LIVE_ENV, REDIS_PREFIX: prefix } })
  let raw: Redis
  before(() => {
    raw = new Redis(REDIS_URL!)
  })
  after(() => raw?.disconnect())

  it("a viewer on node B gets chat sent on node A, B's other sockets do not, a late viewer on B reads it, a stop drops it", async () => {
    const { a, b } = nodes
    const slug = await createCampaign(a.app)
    const owner = await userToken(a.app, `user_owner_${slug}`)
    const id = await goLive(a.app, slug, owner)
    const viewer = await nodes.guest(b, slug)
    await watch(viewer, id, WAIT)
    const bystander = await nodes.guest(b, slug)

    await restChat(a.app, slug, id, 'from A')
    assert.equal((await viewer.next(isChat, WAIT)).text, 'from A')
    const late = await nodes.guest(b, slug)
    const recent = await watch(late, id, WAIT)
    assert.deepEqual(
      recent.messages.map((m: any) => m.text),
      ['from A'],
    )

    await pausedSeenBy(a.app, slug, owner, id, [viewer, bystander])
    assert.deepEqual(bystander.frames.filter(isChat), [])

    assert.equal(await raw.exists(`${prefix}:ovasabi:stream:chat:${id}`), 1)
    const stop = await sendAction(a.app, slug, owner, 'stream.stop', { stream_id: id })
    assert.equal(stop.statusCode, 200, stop.body)
    assert.equal(json(stop).result.status, 'ended')
    // Dropped once the stop is stored (after its commit, so Redis unreachable cannot fail the stop).
    await waitFor(
      async () => (await raw.exists(`${prefix}:ovasabi:stream:chat:${id}`)) === 0,
      'the ended stream to keep no chat',
    )
  })

  it("an erased person's messages leave the recent chat kept in Redis", async () => {
    const slug = await createCampaign(nodes.a.app)
    await erasedLeaveRecentChat(nodes.a.app, slug, () => nodes.guest(nodes.b, slug))
  })
})
