import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import {
  adminHeaders,
  buildTestApp,
  DIALECTS,
  REDIS_URL,
  type TestContext,
  uniqueSlug,
  userToken,
} from '../helper.js'
import { applyReferral, bearer, join } from '../people-fixtures.js'
import { baseUrl, connect, type TestClient } from './client.js'
import { twoNodesOnRedis } from './two-nodes.js'

// Erasure reaches the gateway's `?since=` replay history: a `referral.milestone` naming the person
// and a `lead.created` carrying their lead are replayed to no one once they are erased, on the
// node that erased them and on any other, while the ids around them replay as before.

/** Where Redis lists the kept messages naming `subject` (by its hash: no address as a key name). */
const subjectKey = (subject: string) =>
  `ovasabi:rt:s:${createHash('sha256').update(subject).digest('base64url')}`

const clients: TestClient[] = []
const open = async (app: FastifyInstance, path: string) => {
  const c = await connect(`${baseUrl(app)}${path}`)
  clients.push(c)
  return c
}
const guest = async (app: FastifyInstance, slug: string, query = '') =>
  open(app, `/ws/${slug}/guest?token=${(await app.platform.tokens.issueGuest()).token}${query}`)
const admin = async (app: FastifyInstance, slug: string, query = '') => {
  const id = `admin_${randomBytes(4).toString('hex')}`
  return open(app, `/ws/${slug}/${id}?token=${await userToken(app, id, ['admin'])}${query}`)
}

/** The campaign on `app` (201, or 409 when a node sharing its database made it already). */
async function campaignOn(app: FastifyInstance, slug: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/campaign',
    headers: adminHeaders,
    payload: {
      slug,
      title: slug,
      metadata: { features: [...FEATURES], custom_rules: { referral_milestones: [1] } },
    },
  })
  assert.ok(res.statusCode === 201 || res.statusCode === 409, res.body)
}

const control = (app: FastifyInstance, slug: string, n: number) =>
  app.publisher.publish({ scope: 'campaign', campaign: slug }, { type: 'campaign_event', event: 'x.y', n })
const controlled = (n: number) => (f: any) => f.type === 'campaign_event' && f.event === 'x.y' && f.n === n

/**
 * Ada reaches a milestone and submits a lead through `a`; she is erased through `b`; sockets
 * reconnecting to `b` with `?since=` (the id before both) get the events around them, not them.
 */
async function eraseAndReplay(a: FastifyInstance, b: FastifyInstance) {
  const slug = uniqueSlug('he')
  await campaignOn(a, slug)
  if (b !== a) await campaignOn(b, slug)
  const name = `Ada ${randomBytes(4).toString('hex')}`
  const email = `ada_${randomBytes(4).toString('hex')}@example.com`
  const ada = await join(a, slug, { name, email })
  const watcher = await guest(a, slug)
  const admins = await admin(a, slug)
  await control(a, slug, 0)
  const e0 = await watcher.next(controlled(0))

  const bob = await join(a, slug, { name: 'Bob' })
  const referred = await applyReferral(a, slug, bob.token, ada.user.referral_code)
  assert.equal(referred.statusCode, 200, referred.body)
  const milestone = await watcher.next((f) => f.event === 'referral.milestone')
  assert.match(milestone.payload.message, new RegExp(`^${name} now has 1 referral`))
  const quoted = await a.inject({
    method: 'POST',
    url: `/api/${slug}/update`,
    headers: bearer(ada.token),
    payload: { action: 'quote.submit', data: { name, email } },
  })
  assert.equal(quoted.statusCode, 200, quoted.body)
  const lead = await admins.next((f) => f.event === 'lead.created')
  assert.equal(lead.payload.lead.email, email)
  await control(a, slug, 1)
  await admins.next(controlled(1))

  // Before the erasure, a replay carries both.
  const before = await admin(b, slug, `&since=${e0.id}`)
  await before.next(controlled(1))
  assert.ok(JSON.stringify(before.frames).includes(name), 'the replay names her before')

  const redis = b.platform.redis
  if (redis) {
    for (const subject of [ada.user.id, email]) {
      assert.equal(await redis.exists(subjectKey(subject)), 1, `messages naming ${subject} are listed`)
      assert.equal(await redis.exists(`ovasabi:rt:s:${subject}`), 0, 'under a hashed key name')
    }
  }

  const erased = await b.inject({
    method: 'DELETE',
    url: `/api/user/${ada.user.id}`,
    headers: bearer(ada.token),
  })
  assert.equal(erased.statusCode, 200, erased.body)
  if (redis) {
    // Gone from what Redis holds too, not only from what it replays; the ids stay in place.
    const kept = await redis.lrange(`ovasabi:rt:h:${slug}`, 0, -1)
    assert.ok(!kept.some((m) => m.includes(name) || m.includes(email)), kept.join('\n'))
    assert.equal(kept.length, 4)
    assert.equal(await redis.exists(subjectKey(ada.user.id)), 0)
    assert.equal(await redis.exists(subjectKey(email)), 0)
  }

  for (const back of [await guest(b, slug, `&since=${e0.id}`), await admin(b, slug, `&since=${e0.id}`)]) {
    await back.next(controlled(1))
    const seen = JSON.stringify(back.frames)
    assert.ok(!seen.includes(name), `no frame names her: ${seen}`)
    assert.ok(!seen.includes(email), `no frame holds her address: ${seen}`)
    assert.ok(!seen.includes(ada.user.id), `no frame holds her id: ${seen}`)
    assert.equal(
      back.frames.filter((f) => f.type === 'resync_required').length,
      0,
      'the history still reaches back',
    )
    const events = back.frames.filter((f) => f.type === 'campaign_event')
    assert.deepEqual(
      events.filter((f) => f.event === 'x.y').map((f) => f.n),
      [1],
    )
    assert.ok(!events.some((f) => f.event === 'referral.milestone' || f.event === 'lead.created'))
  }
  // Ids go on after the erased ones; a client resuming from one of them is answered as before.
  const resumed = await guest(b, slug, `&since=${milestone.id}`)
  await control(a, slug, 2)
  await resumed.next(controlled(2))
  assert.deepEqual(
    resumed.frames.filter((f) => f.type === 'campaign_event').map((f) => f.n),
    [1, 2],
  )
}

/**
 * A visitor who never joined submits a lead through `a`; an admin erases that one lead through
 * `b`: a replay from before it no longer carries the lead's address, only the erasure's notice.
 */
async function eraseLeadAndReplay(a: FastifyInstance, b: FastifyInstance) {
  const slug = uniqueSlug('hl')
  await campaignOn(a, slug)
  if (b !== a) await campaignOn(b, slug)
  const name = `Grace ${randomBytes(4).toString('hex')}`
  const email = `grace_${randomBytes(4).toString('hex')}@example.com`
  const admins = await admin(a, slug)
  await control(a, slug, 0)
  const e0 = await admins.next(controlled(0))
  const visitor = (await a.platform.tokens.issueGuest()).token
  const quoted = await a.inject({
    method: 'POST',
    url: `/api/${slug}/update`,
    headers: bearer(visitor),
    payload: { action: 'quote.submit', data: { name, email } },
  })
  assert.equal(quoted.statusCode, 200, quoted.body)
  const created = await admins.next((f) => f.event === 'lead.created')
  assert.equal(created.payload.lead.email, email)

  const erased = await b.inject({
    method: 'DELETE',
    url: `/api/campaign/${slug}/leads/${created.payload.lead.id}`,
    headers: adminHeaders,
  })
  assert.equal(erased.statusCode, 200, erased.body)
  await admins.next((f) => f.event === 'lead.updated' && f.payload.reason === 'erased')
  await control(a, slug, 1)
  await admins.next(controlled(1))

  const back = await admin(b, slug, `&since=${e0.id}`)
  await back.next(controlled(1))
  const seen = JSON.stringify(back.frames)
  assert.ok(!seen.includes(email) && !seen.includes(name), `no frame holds the lead: ${seen}`)
  const events = back.frames.filter((f) => f.type === 'campaign_event').map((f) => f.event)
  assert.deepEqual(events, ['lead.updated', 'x.y'], 'the erasure is replayed, the lead no more')
  assert.equal(back.frames.filter((f) => f.type === 'resync_required').length, 0)
}

describe('replay history after erasure, one node (memory)', () => {
  let one: TestContext
  before(async () => {
    one = await buildTestApp({ dialect: 'pglite' })
    await one.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of clients) c.close()
    await one.close()
  })
  it('replays neither her milestone nor her lead, and the events around them as before', async () => {
    await eraseAndReplay(one.app, one.app)
  })
  it('erasing one lead takes its lead.created out of the replay', async () => {
    await eraseLeadAndReplay(one.app, one.app)
  })
})

for (const dialect of DIALECTS.filter((d) => d === 'postgres')) {
  describe(`replay history after erasure, two nodes on Redis (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    const nodes = twoNodesOnRedis(dialect, { sockets: clients })
    it('an erasure through one node takes her frames out of the replay every node serves', async () => {
      await eraseAndReplay(nodes.a.app, nodes.b.app)
      await eraseAndReplay(nodes.b.app, nodes.a.app)
    })
    it('erasing one lead through one node takes it out of the replay every node serves', async () => {
      await eraseLeadAndReplay(nodes.a.app, nodes.b.app)
    })
  })
}
