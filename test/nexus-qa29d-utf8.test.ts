// JSON bodies are UTF-8 (RFC 8259 §8.1), and the Content-Type may say so. Two defects:
// - `application/json; charset=utf-8` (what .NET's StringContent, OkHttp, Spring and many Ruby
//   clients send) was 415 UNSUPPORTED_MEDIA_TYPE on every JSON route: the JSON parser's pattern
//   matched only a Content-Type without parameters.
// - Bytes that are not UTF-8 (a Latin-1 "José" from an old form) were decoded with U+FFFD in place
//   of each bad byte and accepted: the lead or event stored as "Jos\uFFFD", 200, with no way back
//   to what was sent. Refused now: 400 INVALID_CHARACTER; a charset other than UTF-8 is 415
//   (as Express's body-parser answers it).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, guestToken, json, type TestContext } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`a JSON body that is not UTF-8 (${dialect})`, () => {
    let t: TestContext
    let slug: string
    let token: string

    before(async () => {
      t = await buildTestApp({ dialect })
      slug = await createCampaign(t.app)
      token = (await guestToken(t.app)).token
    })
    after(() => t.close())

    const send = (url: string, payload: Buffer, contentType = 'application/json') =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        payload,
      })
    const latin1 = (text: string) => Buffer.from(text, 'latin1')
    const events = (requestId: string) =>
      t.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select('payload')
        .where('campaign_slug', '=', slug)
        .where('event_id', '=', requestId)
        .execute()

    it('is 400 INVALID_CHARACTER for an action, and nothing is recorded', async () => {
      const res = await send(
        `/api/${slug}/update`,
        latin1('{"action":"content.create","data":{"name":"José"},"request_id":"latin1-1"}'),
      )
      assert.equal(res.statusCode, 400, res.body)
      assert.equal(json(res).error.code, 'INVALID_CHARACTER')
      assert.match(json(res).error.message, /UTF-8/)
      assert.deepEqual(await events('latin1-1'), [])
    })

    it('is 415 when the Content-Type names that other charset', async () => {
      const res = await send(
        `/api/${slug}/update`,
        latin1('{"action":"content.create","data":{"name":"José"},"request_id":"latin1-2"}'),
        'application/json; charset=ISO-8859-1',
      )
      assert.equal(res.statusCode, 415, res.body)
      assert.equal(json(res).error.code, 'UNSUPPORTED_MEDIA_TYPE')
      assert.match(json(res).error.message, /UTF-8/)
      assert.deepEqual(await events('latin1-2'), [])
    })

    it('refuses a lead the same way (POST /api/quote), storing none', async () => {
      const before = await t.app.platform.database.db
        .selectFrom('service_quote_main')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      const res = await send(
        '/api/quote',
        latin1(`{"campaign":"${slug}","name":"José Núñez","email":"jose@example.com"}`),
      )
      assert.equal(res.statusCode, 400, res.body)
      assert.equal(json(res).error.code, 'INVALID_CHARACTER')
      const after = await t.app.platform.database.db
        .selectFrom('service_quote_main')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      assert.equal(Number(after.n), Number(before.n))
    })

    it('takes UTF-8 under every way of saying so: a charset parameter, any other parameter, a BOM', async () => {
      const types = [
        'application/json; charset=utf-8',
        'application/json;charset=UTF-8',
        'application/json; charset="utf-8"',
        'application/json; charset=utf8',
        'application/vnd.api+json; charset=utf-8',
        'application/json; foo=bar',
      ]
      for (const [i, type] of types.entries()) {
        const id = `utf8-${i}`
        const body = Buffer.from(`{"action":"content.create","data":{"name":"José"},"request_id":"${id}"}`)
        const res = await send(`/api/${slug}/update`, body, type)
        assert.equal(res.statusCode, 200, `${type}: ${res.body}`)
        assert.deepEqual(
          (await events(id)).map((r) => r.payload),
          [{ name: 'José' }],
          type,
        )
      }
      const lead = await send(
        '/api/quote',
        Buffer.from(`{"campaign":"${slug}","name":"José Núñez","email":"jose.utf8@example.com"}`),
        'application/json; charset=utf-8',
      )
      assert.equal(lead.statusCode, 200, lead.body)
      // A BOM is dropped; a U+FFFD the client sent (as UTF-8) is its own text and kept.
      const bom = Buffer.from(
        '\uFEFF{"action":"content.create","data":{"name":"? \uFFFD"},"request_id":"utf8-bom"}',
      )
      const res = await send(`/api/${slug}/update`, bom)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(
        (await events('utf8-bom')).map((r) => r.payload),
        [{ name: '? \uFFFD' }],
      )
    })

    it('is 415 naming UTF-8 for a charset other than UTF-8, even when the bytes are ASCII', async () => {
      for (const type of ['application/json; charset=utf-16', 'application/json; charset=windows-1252']) {
        const res = await send(
          `/api/${slug}/update`,
          latin1('{"action":"content.create","data":{"name":"Jose"},"request_id":"ascii-1"}'),
          type,
        )
        assert.equal(res.statusCode, 415, `${type}: ${res.body}`)
        assert.equal(json(res).error.code, 'UNSUPPORTED_MEDIA_TYPE')
        assert.match(json(res).error.message, /UTF-8/)
      }
      assert.deepEqual(await events('ascii-1'), [])
    })
  })
}
