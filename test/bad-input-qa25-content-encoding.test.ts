// A compressed JSON body (QA pass 25). The server does not undo content codings, and a body sent
// with `Content-Encoding: gzip` was read as if it were plain text: compressed bytes answered as
// "not valid JSON" (the client's body is fine), and a client whose proxy adds the header to plain
// JSON had it accepted as plain. RFC 7694: 415, with `Accept-Encoding: identity` naming what is
// taken; `identity` itself is no coding.
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

for (const dialect of DIALECTS) {
  describe(`a JSON body with a content coding (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('is 415 UNSUPPORTED_CONTENT_ENCODING naming identity, and runs nothing', async () => {
      const slug = await createCampaign(suite.app)
      const { token } = await guestToken(suite.app)
      const body = JSON.stringify({ action: 'page.click', data: { n: 1 }, request_id: 'coded-1' })
      for (const [coding, payload] of [
        ['gzip', gzipSync(body)],
        ['GZIP', body],
        ['br', body],
        ['gzip, identity', body],
      ] as const) {
        const res = await suite.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-encoding': coding,
          },
          payload,
        })
        assert.equal(res.statusCode, 415, `${coding}: ${res.body}`)
        assert.equal(json(res).error.code, 'UNSUPPORTED_CONTENT_ENCODING', coding)
        assert.equal(res.headers['accept-encoding'], 'identity', coding)
      }
      const events = await suite.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_slug', '=', slug)
        .executeTakeFirstOrThrow()
      assert.equal(Number(events.n), 0)
      const plain = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'identity',
        },
        payload: body,
      })
      assert.equal(plain.statusCode, 200, plain.body)
    })
  })
}
