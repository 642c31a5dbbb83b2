// Numbers too large for a double (QA pass 25). JSON allows any number of digits; JavaScript reads
// `1e400` as Infinity, which JSON cannot write back, so an action payload stored as sent (an
// analytics event, a lead's `metadata`) was stored with `null` in its place and answered as
// recorded. Refused at the door now (400 `INVALID_JSON`, over REST and the socket alike), and
// nothing is stored; the largest double and such text inside a string still pass.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hasOverflowingNumber, parseUntrustedJson } from '../src/platform/json.js'
import { createCampaign, DIALECTS, guestToken, json } from './helper.js'
import { realtimeSuite } from './realtime/fixtures.js'

const check = (text: string) => hasOverflowingNumber(text, JSON.parse(text))

describe('hasOverflowingNumber', () => {
  it('finds a number past a double, at any depth, in exponent or digit form', () => {
    for (const text of ['1e400', '{"a":[1,{"b":-2E+309}]}', `{"n":${'9'.repeat(400)}}`, '[1.5e999]']) {
      assert.equal(check(text), true, text)
    }
  })
  it('passes the largest doubles, underflow and such text inside strings', () => {
    for (const text of ['1.7976931348623157e308', '1e-400', '{"a":"1e400"}', `"${'9'.repeat(400)}"`, '123']) {
      assert.equal(check(text), false, text)
    }
    assert.throws(() => parseUntrustedJson('{"a":1e400}'), SyntaxError)
  })
})

for (const dialect of DIALECTS) {
  describe(`a number too large for a double (${dialect})`, () => {
    const live = realtimeSuite({ dialect })

    it('is 400 INVALID_JSON over REST, for an action and a lead, and nothing is stored', async () => {
      const slug = await createCampaign(live.app)
      const { token } = await guestToken(live.app)
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      const action = await live.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers,
        payload: '{"action":"page.click","data":{"amount":1e400},"request_id":"overflow-1"}',
      })
      assert.equal(action.statusCode, 400, action.body)
      assert.equal(json(action).error.code, 'INVALID_JSON')
      assert.match(json(action).error.message, /double/)
      const lead = await live.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers,
        payload: `{"campaign":"${slug}","name":"Ada","email":"ada@example.com","metadata":{"score":1e400}}`,
      })
      assert.equal(lead.statusCode, 400, lead.body)
      assert.equal(json(lead).error.code, 'INVALID_JSON')
      const db = live.app.platform.database.db
      const events = await db
        .selectFrom('service_analytics_event')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_slug', '=', slug)
        .executeTakeFirstOrThrow()
      assert.equal(Number(events.n), 0)
      const leads = await db
        .selectFrom('service_quote_main')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_slug', '=', slug)
        .executeTakeFirstOrThrow()
      assert.equal(Number(leads.n), 0)
      // The largest double is a number like any other.
      const ok = await live.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers,
        payload: '{"action":"page.click","data":{"amount":1.7976931348623157e308},"request_id":"overflow-2"}',
      })
      assert.equal(ok.statusCode, 200, ok.body)
    })

    it('is an INVALID_JSON error over the socket, and the socket stays open', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      await c.next((f) => f.type === 'connected')
      const from = c.frames.length
      c.ws.send(
        '{"type":"campaign_event","event":"page.click","payload":{"amount":-1e400},"request_id":"ws-overflow"}',
      )
      const refused = await c.next(
        (f) => (f.type === 'error' || f.type === 'update_ack') && JSON.stringify(f).includes('INVALID_JSON'),
        20_000,
        from,
      )
      assert.match(JSON.stringify(refused), /double/)
      c.ws.send(JSON.stringify({ type: 'ping' }))
      await c.next((f) => f.type === 'pong', 20_000, from)
    })
  })
}
