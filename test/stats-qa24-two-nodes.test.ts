// Two nodes on one PostgreSQL and one Redis, as a launch runs: joins land on both at once, and a
// visitor on either node sees the exact count (counters are added to, never recounted), each
// `stats_update` on a socket saying something the one before did not.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign, json, REDIS_URL } from './helper.js'
import { baseUrl, connect } from './realtime/client.js'
import { twoNodesOnRedis } from './realtime/two-nodes.js'

const isStats = (f: any) => f.type === 'stats_update'
const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`

describe('stats_update on two nodes', {
  skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'REDIS_URL and DATABASE_URL are needed',
}, () => {
  const nodes = twoNodesOnRedis('postgres')
  const join = (app: FastifyInstance, slug: string, i: number) =>
    app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { 'x-forwarded-for': ip() },
      payload: {
        campaign: slug,
        email: `p${i}_${randomBytes(4).toString('hex')}@example.com`,
        name: `P ${i}`,
      },
    })

  it('counts concurrent joins on both nodes exactly, and every socket sees the total', async () => {
    const { a, b } = nodes
    const slug = await createCampaign(a.app, { metadata: { scheduling: { frequency: 20 } } })
    const guest = async (app: FastifyInstance) => {
      const { token } = await app.platform.tokens.issueGuest()
      const c = await connect(`${baseUrl(app)}/ws/${slug}/guest?token=${token}`)
      nodes.sockets.push(c)
      return c
    }
    const onA = await guest(a.app)
    const onB = await guest(b.app)
    await onA.next(isStats)
    await onB.next(isStats)
    const joins = await Promise.all(
      Array.from({ length: 40 }, (_, i) => join(i % 2 === 0 ? a.app : b.app, slug, i)),
    )
    for (const res of joins) assert.equal(res.statusCode, 201, res.body)
    for (const c of [onA, onB]) {
      const last = await c.next((f) => isStats(f) && f.counters.registrations === 40)
      assert.equal(last.active_users, 2)
      // Never more than the total on the way, and never the same figures twice in a row.
      const seen = c.frames.filter(isStats)
      assert.ok(seen.every((f) => f.counters.registrations <= 40))
      const same = seen.filter(
        (f, i) =>
          i > 0 &&
          JSON.stringify({ ...f, timestamp: 0 }) === JSON.stringify({ ...seen[i - 1], timestamp: 0 }),
      )
      assert.deepEqual(same, [])
    }
    for (const app of [a.app, b.app]) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      assert.equal(json(res).counters.registrations, 40)
    }
  })
})
