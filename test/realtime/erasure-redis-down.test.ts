import assert from 'node:assert/strict'
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  REDIS_URL,
  type TestContext,
} from '../helper.js'
import { bearer, join, mail } from '../people-fixtures.js'
import { waitUntil } from './client.js'

// Erasure reaches the replay history kept in Redis; with Redis unreachable it used to fail as a
// masked 500 INTERNAL. It is a declared 503 REDIS_UNAVAILABLE with Retry-After, nothing is erased
// (the transaction rolls back), and the same request succeeds once Redis is back.

/** A TCP proxy before the test's Redis that can be cut (connections dropped, new ones refused) and restored. */
async function cuttableRedis(target: string) {
  const upstreamUrl = new URL(target)
  const sockets = new Set<Socket>()
  let cut = false
  const proxy: Server = createServer((client) => {
    client.on('error', () => {})
    if (cut) {
      client.destroy()
      return
    }
    const upstream = connect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname)
    upstream.on('error', () => {})
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    cut() {
      cut = true
      for (const s of sockets) s.destroy()
    },
    restore() {
      cut = false
    },
    close() {
      cut = true
      for (const s of sockets) s.destroy()
      proxy.close()
    },
  }
}

function assertRedisUnavailable(res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  assert.equal(res.statusCode, 503, res.body)
  const body = JSON.parse(res.body)
  assert.equal(body.status, 'error')
  assert.equal(body.error.code, 'REDIS_UNAVAILABLE')
  assert.equal(typeof body.error.message, 'string')
  assert.equal(typeof body.request_id, 'string')
  assert.equal(res.headers['retry-after'], '5')
}

for (const dialect of DIALECTS) {
  describe(`erasure with Redis unreachable (${dialect})`, {
    skip: !REDIS_URL && 'REDIS_URL is not set',
  }, () => {
    let t: TestContext
    let redis: Awaited<ReturnType<typeof cuttableRedis>>
    before(async () => {
      redis = await cuttableRedis(REDIS_URL!)
      t = await buildTestApp({ dialect, env: { REDIS_URL: redis.url } })
    })
    after(async () => {
      redis.close()
      await t.close()
    })
    const redisBack = async () => {
      redis.restore()
      await waitUntil(() => t.app.platform.redis?.status === 'ready', 15_000, 'Redis to reconnect')
    }

    it('DELETE /api/user/{id}: 503 REDIS_UNAVAILABLE, the person kept; the retry erases', async () => {
      const slug = await createCampaign(t.app)
      const email = mail('ada')
      const ada = await join(t.app, slug, { name: 'Ada', email })

      redis.cut()
      const refused = await t.app.inject({
        method: 'DELETE',
        url: `/api/user/${ada.user.id}`,
        headers: bearer(ada.token),
      })
      assertRedisUnavailable(refused)
      // Rolled back: her token still works and her account still holds her address.
      const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(ada.token) })
      assert.equal(me.statusCode, 200, me.body)
      assert.equal(json(me).user.email, email)

      await redisBack()
      const erased = await t.app.inject({
        method: 'DELETE',
        url: `/api/user/${ada.user.id}`,
        headers: bearer(ada.token),
      })
      assert.equal(erased.statusCode, 200, erased.body)
      assert.equal(json(erased).status, 'erased')
      const gone = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(ada.token) })
      assert.equal(gone.statusCode, 401, gone.body)
    })

    it('DELETE /api/campaign/{slug}/leads/{id}: 503 REDIS_UNAVAILABLE, the lead kept; the retry erases', async () => {
      const slug = await createCampaign(t.app)
      const email = mail('grace')
      const visitor = (await t.app.platform.tokens.issueGuest()).token
      const quoted = await t.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: bearer(visitor),
        payload: { action: 'quote.submit', data: { name: 'Grace', email } },
      })
      assert.equal(quoted.statusCode, 200, quoted.body)
      const listed = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads`,
        headers: adminHeaders,
      })
      assert.equal(listed.statusCode, 200, listed.body)
      const lead = json(listed).leads.find((l: any) => l.email === email)
      assert.ok(lead, listed.body)
      const url = `/api/campaign/${slug}/leads/${lead.id}`

      redis.cut()
      assertRedisUnavailable(await t.app.inject({ method: 'DELETE', url, headers: adminHeaders }))
      const kept = await t.app.inject({ method: 'GET', url, headers: adminHeaders })
      assert.equal(kept.statusCode, 200, kept.body)
      assert.equal(json(kept).email, email, 'the lead keeps its address')

      await redisBack()
      const erased = await t.app.inject({ method: 'DELETE', url, headers: adminHeaders })
      assert.equal(erased.statusCode, 200, erased.body)
      assert.notEqual(json(erased).email, email)
    })

    it('both routes declare the 503 in OpenAPI', async () => {
      const doc = json(await t.app.inject({ method: 'GET', url: '/docs/openapi.json' }))
      assert.ok(doc.paths['/api/user/{id}'].delete.responses['503'])
      assert.ok(doc.paths['/api/campaign/{slug}/leads/{id}'].delete.responses['503'])
    })
  })
}
