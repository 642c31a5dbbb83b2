import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import {
  adminHeaders,
  DIALECTS,
  json,
  REDIS_URL,
  sendAction,
  type TestContext,
  uniqueSlug,
} from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'
import { twoNodesOnRedis } from './two-nodes.js'

/** The `campaign.status` announcements `c` got, in order. */
const announcements = (c: TestClient) =>
  c.frames.filter((f) => f.type === 'campaign_event' && f.event === 'campaign.status')

/** Waits for the `n`th announcement (1-based) on `c`. */
async function nthAnnouncement(c: TestClient, n: number, timeoutMs = 20_000): Promise<any> {
  await c.next(() => announcements(c).length >= n, timeoutMs)
  return announcements(c)[n - 1]
}

/**
 * Lets the gateway's once-a-second schedule pass run a few more times, judged by frames, not by
 * the clock: `mover` moves its cursor until `watcher` has seen `ticks` more presence ticks (at
 * 10 Hz, 20 ticks are two passes and more).
 */
async function moreTicks(mover: TestClient, watcher: TestClient, ticks = 20): Promise<void> {
  const tickOf = () => watcher.frames.findLast((f) => f.type === 'presence_update')?.tick ?? 0
  const target = tickOf() + ticks
  for (let i = 0; tickOf() < target; i++) {
    if (i > 400) throw new Error('no presence ticks')
    mover.send({ type: 'cursor', x: (i % 100) / 100, y: 0.5 })
    const from = watcher.frames.length
    await watcher.next((f) => f.type === 'presence_update', 10_000, from)
  }
}

/** A campaign ticking at 10 Hz whose schedule starts at `start` (ms since the epoch). */
async function scheduledCampaign(app: FastifyInstance, start: number, slug = uniqueSlug('qa25')) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/campaign',
    headers: adminHeaders,
    payload: {
      slug,
      title: slug,
      metadata: {
        features: ['presence', 'analytics'],
        scheduling: { frequency: 10, start: new Date(start).toISOString() },
      },
    },
  })
  // 409 when two nodes share one PostgreSQL database and the other node created it.
  assert.ok(res.statusCode === 201 || res.statusCode === 409, res.body)
  return slug
}

async function moveStart(app: FastifyInstance, slug: string, start: number) {
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ metadata: { scheduling: { start: new Date(start).toISOString() } } }),
  })
  assert.equal(res.statusCode, 200, res.body)
}

for (const dialect of DIALECTS) {
  describe(`a scheduled campaign's sockets learn when it starts (QA 25, ${dialect})`, () => {
    const live = realtimeSuite({ dialect })

    it('tells the waiting room once when the start passes; REST and sockets refuse actions until then', async () => {
      const { app } = live
      const start = Date.now() + 2500
      const slug = await scheduledCampaign(app, start)
      const waiting = await live.openGuest(slug)
      const connected = waiting.frames.find((f) => f.type === 'connected')
      assert.equal(connected.status, 'scheduled')
      assert.equal(Date.parse(connected.starts_at), start)

      // Before the start an action is refused alike over REST and over the socket.
      const token = await live.guestToken()
      const rest = await sendAction(app, slug, token, 'content.view', {})
      assert.equal(rest.statusCode, 409, rest.body)
      assert.equal(json(rest).error.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(json(rest).error.details, { status: 'scheduled' })
      waiting.send({ type: 'campaign_event', event: 'content.view', payload: {}, request_id: 'qa25_early' })
      const ack = await waiting.next((f) => f.type === 'update_ack' && f.request_id === 'qa25_early')
      assert.equal(ack.status, 'error')
      assert.equal(ack.error.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(ack.error.details, { status: 'scheduled' })

      const started = await nthAnnouncement(waiting, 1)
      assert.equal(started.campaign_id, slug)
      assert.deepEqual(started.payload, { status: 'active' })
      assert.equal(started.id, undefined, 'not a history event: `?since=` never replays it')
      assert.ok(Date.parse(started.timestamp) >= start, `announced at ${started.timestamp}, before the start`)
      assert.equal((await sendAction(app, slug, token, 'content.view', {})).statusCode, 200)

      // A socket opened after the start reads it in `connected`, and is told nothing more.
      const late = await live.openGuest(slug)
      assert.equal(late.frames.find((f) => f.type === 'connected').status, 'active')
      assert.equal(late.frames.find((f) => f.type === 'connected').starts_at, undefined)
      await moreTicks(late, waiting)
      assert.equal(announcements(waiting).length, 1, JSON.stringify(announcements(waiting)))
      assert.equal(announcements(late).length, 0)
    })

    it('follows edits of the start: moved later (the old start passes unannounced), earlier, back to waiting', async () => {
      const { app } = live
      const slug = await scheduledCampaign(app, Date.now() + 4000)
      const waiting = await live.openGuest(slug)
      const mover = await live.openGuest(slug)
      // Moved later before it passed: the new start is told, and only that one opens the campaign.
      const later = Date.now() + 7000
      await moveStart(app, slug, later)
      const moved = await nthAnnouncement(waiting, 1)
      assert.deepEqual(moved.payload, { status: 'scheduled', starts_at: new Date(later).toISOString() })
      const started = await nthAnnouncement(waiting, 2)
      assert.deepEqual(started.payload, { status: 'active' })
      assert.ok(Date.parse(started.timestamp) >= later, `opened at ${started.timestamp}, before ${later}`)

      // Taken back to the waiting room after it started, then opened again at once by an edit.
      const again = Date.now() + 3_600_000
      await moveStart(app, slug, again)
      assert.deepEqual((await nthAnnouncement(waiting, 3)).payload, {
        status: 'scheduled',
        starts_at: new Date(again).toISOString(),
      })
      await moveStart(app, slug, Date.now() - 1000)
      assert.deepEqual((await nthAnnouncement(waiting, 4)).payload, { status: 'active' })
      await moreTicks(mover, waiting)
      assert.deepEqual(
        announcements(waiting).map((f) => f.payload.status),
        ['scheduled', 'active', 'scheduled', 'active'],
      )
      assert.deepEqual(
        announcements(mover).map((f) => f.payload.status),
        ['scheduled', 'active', 'scheduled', 'active'],
      )
    })
  })

  describe(`the start of a scheduled campaign on two nodes (QA 25, ${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    const nodes = twoNodesOnRedis(dialect)
    const open = async (ctx: TestContext, slug: string) => {
      const token = (await ctx.app.platform.tokens.issueGuest()).token
      const c = await connect(`${baseUrl(ctx.app)}/ws/${slug}/guest?token=${token}`)
      nodes.sockets.push(c)
      return c
    }

    it('every socket of the campaign, on either node, is told once', async () => {
      const slug = uniqueSlug('qa25n')
      const start = Date.now() + 3000
      await scheduledCampaign(nodes.a.app, start, slug)
      await scheduledCampaign(nodes.b.app, start, slug)
      const onA = await open(nodes.a, slug)
      const onB = await open(nodes.b, slug)
      for (const c of [onA, onB]) {
        assert.equal(c.frames.find((f) => f.type === 'connected').status, 'scheduled')
        assert.deepEqual((await nthAnnouncement(c, 1)).payload, { status: 'active' })
      }
      // Passes of both nodes later (each socket sees the other node's cursor ticks): still once.
      await moreTicks(onA, onB)
      await moreTicks(onB, onA)
      assert.equal(announcements(onA).length, 1)
      assert.equal(announcements(onB).length, 1)
    })
  })
}
