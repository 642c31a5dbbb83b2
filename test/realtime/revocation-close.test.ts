import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createCampaign, guestToken, json, listenLocally, REDIS_URL } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

// A logout or an erasure closes, on every node and at once, the sockets it covers (1008, the
// reason the 30 s re-check closes a revoked credential's with), and every node's revocation cache
// forgets the person, so REST refuses their token at once too.

interface Person {
  id: string
  token: string
}

/** Someone joins campaign `slug` from a new guest session. */
async function join(app: FastifyInstance, slug: string, name: string): Promise<Person> {
  const { token: guest } = await guestToken(app)
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { authorization: `Bearer ${guest}` },
    payload: { campaign: slug, name, email: `${name}.${randomBytes(4).toString('hex')}@example.org` },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { id: json(res).user.id, token: json(res).token }
}

const bearer = (p: Person) => ({ authorization: `Bearer ${p.token}` })

/** `p`'s socket on campaign `slug` of the app listening at `url`. */
const socketOf = (url: string, slug: string, p: Person) =>
  connect(`${url}/ws/${slug}/${p.id}?token=${p.token}`)

/** The close a revoked credential gets, and the `error` frame before it. */
async function assertRevoked(c: TestClient) {
  assert.deepEqual(await c.untilClosed(20_000), { code: 1008, reason: 'TOKEN_REVOKED' })
  assert.equal(c.frames.find((f) => f.type === 'error')?.code, 'TOKEN_REVOKED')
}

/** A round trip on a socket the server keeps: it answers, and stays open. */
async function assertOpen(c: TestClient) {
  const from = c.frames.length
  c.send({ type: 'ping' })
  await c.next((f) => f.type === 'pong', 20_000, from)
  assert.equal(c.closed, undefined)
}

describe('a logout closes that session’s sockets at once', () => {
  const live = realtimeSuite()

  it('closes them 1008, drops an action sent after it, and keeps another person’s socket', async () => {
    const { app } = live
    const slug = await createCampaign(app)
    const ann = await join(app, slug, 'ann')
    const bob = await join(app, slug, 'bob')
    const first = live.keep(await socketOf(live.url, slug, ann))
    const second = live.keep(await socketOf(live.url, slug, ann))
    const other = live.keep(await socketOf(live.url, slug, bob))

    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(ann) })
    assert.equal(out.statusCode, 200, out.body)
    // Sent once the logout answered: a socket still acting as Ann would store this lead.
    const email = `ann.straggler.${randomBytes(4).toString('hex')}@example.org`
    second.send({
      type: 'campaign_event',
      event: 'quote.submit',
      request_id: 'req_after_logout',
      payload: { name: 'Ann Straggler', email, message: 'call me' },
    })
    await assertRevoked(first)
    await assertRevoked(second)
    assert.ok(!second.frames.some((f) => f.type === 'update_ack'), JSON.stringify(second.frames))
    const leads = await app.platform.database.db
      .selectFrom('service_quote_main')
      .select('id')
      .where('campaign_slug', '=', slug)
      .execute()
    assert.deepEqual(leads, [], 'nothing was stored under the logged-out session')
    await assertOpen(other)
  })
})

describe('an erasure closes every socket of the person on every node', () => {
  it('on the node that erased and on another, whose REST refuses the token at once', {
    skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'REDIS_URL and DATABASE_URL are needed',
  }, async () => {
    const a = await buildTestApp({ dialect: 'postgres', redis: true })
    const sockets: TestClient[] = []
    try {
      const b = await buildTestApp({ dialect: 'postgres', redis: true, databaseUrl: a.databaseUrl })
      try {
        await listenLocally(a.app)
        await listenLocally(b.app)
        const slug = await createCampaign(a.app)
        const ann = await join(a.app, slug, 'ann')
        const bob = await join(a.app, slug, 'bob')
        const open = async (app: FastifyInstance, p: Person) => {
          const c = await socketOf(baseUrl(app), slug, p)
          sockets.push(c)
          return c
        }
        const annHere = await open(a.app, ann)
        const annThere = await open(b.app, ann)
        const bobThere = await open(b.app, bob)
        // Node B has just judged Ann's token valid: its cache would trust that for a while.
        const read = () => b.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: bearer(ann) })
        assert.equal((await read()).statusCode, 200)

        const erased = await a.app.inject({
          method: 'DELETE',
          url: `/api/user/${ann.id}`,
          headers: bearer(ann),
        })
        assert.equal(erased.statusCode, 200, erased.body)
        await assertRevoked(annHere)
        await assertRevoked(annThere)
        // Node B closed her socket on the message that also emptied its cache of her.
        const refused = await read()
        assert.equal(refused.statusCode, 401, refused.body)
        assert.equal(json(refused).error.code, 'TOKEN_REVOKED')
        await assertOpen(bobThere)
      } finally {
        for (const c of sockets) c.close()
        await b.close()
      }
    } finally {
      await a.close()
    }
  })
})
