// A join sent as an action (`user.register` over the WebSocket or `POST /api/{campaign}/update`)
// records where the person signed in with the browser's User-Agent, as a REST join does: for a
// socket, the upgrade request's. Without it "Your account" listed that session with no browser.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148'
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'

const joining = () => ({ email: `ua.${randomBytes(5).toString('hex')}@example.org`, name: 'Ada' })

/** The sessions `token`'s person is signed in at, as "Your account" lists them. */
async function sessionsOf(app: FastifyInstance, token: string) {
  const res = await app.inject({ url: '/api/auth/sessions', headers: { authorization: `Bearer ${token}` } })
  assert.equal(res.statusCode, 200, res.body)
  return json(res).sessions as Array<{ session_id: string; user_agent: string | null }>
}

for (const dialect of DIALECTS) {
  describe(`a join sent as an action records the browser (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      slug = await createCampaign(ctx.app)
    })
    after(() => ctx?.close())

    it('over the WebSocket: the User-Agent of the upgrade request', async () => {
      const guest = await guestToken(ctx.app)
      const socket = await connect(`${baseUrl(ctx.app)}/ws/${slug}/guest?token=${guest.token}`, {
        headers: { 'user-agent': PHONE },
      })
      try {
        socket.send({
          type: 'campaign_event',
          event: 'user.register',
          payload: joining(),
          request_id: 'ws_join',
        })
        const ack = await socket.next((f) => f.type === 'update_ack' && f.request_id === 'ws_join')
        assert.equal(ack.status, 'success', JSON.stringify(ack))
        const sessions = await sessionsOf(ctx.app, ack.result.token)
        assert.deepEqual(
          sessions.map((s) => [s.session_id, s.user_agent]),
          [[guest.session_id, PHONE]],
        )
      } finally {
        socket.close()
      }
    })

    it('over POST /api/{campaign}/update: the request’s User-Agent', async () => {
      const guest = await guestToken(ctx.app)
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}`, 'user-agent': FIREFOX },
        payload: { action: 'user.register', data: joining() },
      })
      assert.equal(res.statusCode, 200, res.body)
      const sessions = await sessionsOf(ctx.app, json(res).result.token)
      assert.deepEqual(
        sessions.map((s) => [s.session_id, s.user_agent]),
        [[guest.session_id, FIREFOX]],
      )
    })
  })
}
