// Integers past 2^53 - 1 (QA pass 30). JSON allows any number of digits; JavaScript reads
// 9007199254740993 as 9007199254740992, so an action payload stored as sent (an order number, a
// snowflake id in an analytics event) was stored and answered as recorded with another value.
// Refused at the door now (400 `UNSAFE_INTEGER` naming the path), over REST and the socket alike;
// the largest safe integer, long fractions and exponents (a double by the sender's own writing)
// and such digits inside strings still pass.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { unsafeIntegerPath } from '../src/platform/json.js'
import { createCampaign, DIALECTS, guestToken, json } from './helper.js'
import { realtimeSuite } from './realtime/fixtures.js'

describe('unsafeIntegerPath', () => {
  it('names the JSON Pointer of the first integer literal past 2^53 - 1', () => {
    const cases: Array<[string, string]> = [
      ['9007199254740992', ''],
      ['{"a":[1,{"b":-9007199254740993}]}', '/a/1/b'],
      ['{"x":"12345678901234567","y":{"a/b~c":12345678901234567}}', '/y/a~1b~0c'],
      ['[0,1,{},[],"\\"",123456789012345678901234567890]', '/5'],
      ['{"k\\u00e9y":{"":[ 99999999999999999 ]}}', '/kéy//0'],
    ]
    for (const [text, path] of cases) assert.equal(unsafeIntegerPath(text), path, text)
  })

  it('passes safe integers, fractions, exponents and digits inside strings or keys', () => {
    for (const text of [
      '9007199254740991',
      '-9007199254740991',
      '{"a":0.12345678901234567890}',
      '{"a":12345678901234567.5}',
      '{"a":1e20}',
      '{"a":"99999999999999999999"}',
      '{"99999999999999999999":1}',
      '{"a":"\\\\","b":"12345678901234567"}',
    ]) {
      assert.equal(unsafeIntegerPath(text), undefined, text)
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`an integer past 2^53 - 1 (${dialect})`, () => {
    const live = realtimeSuite({ dialect })

    it('is 400 UNSAFE_INTEGER over REST naming its path, and nothing is stored', async () => {
      const slug = await createCampaign(live.app)
      const { token } = await guestToken(live.app)
      const send = (url: string, payload: string) =>
        live.app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload,
        })
      const storedPayload = async (eventId: string) => {
        const row = await live.app.platform.database.db
          .selectFrom('service_analytics_event')
          .select('payload')
          .where('event_id', '=', eventId)
          .executeTakeFirst()
        return typeof row?.payload === 'string' ? JSON.parse(row.payload) : row?.payload
      }
      const refusals: Array<[string, string, string]> = [
        [
          `/api/${slug}/update`,
          '{"action":"page.click","data":{"order":{"id":9007199254740993}},"request_id":"unsafe-1"}',
          '/data/order/id',
        ],
        [
          '/api/quote',
          `{"campaign":"${slug}","name":"Ada","email":"ada@example.com","metadata":{"ref":-12345678901234567890}}`,
          '/metadata/ref',
        ],
      ]
      for (const [url, payload, path] of refusals) {
        const res = await send(url, payload)
        assert.equal(res.statusCode, 400, res.body)
        const { error } = json(res)
        assert.equal(error.code, 'UNSAFE_INTEGER')
        assert.match(error.message, /9007199254740991/)
        assert.deepEqual(
          error.details.map((d: { in: string; path: string }) => [d.in, d.path]),
          [['body', path]],
        )
      }
      assert.equal(await storedPayload('unsafe-1'), undefined)
      // The largest safe integer, and the same digits as a string, are kept as sent.
      const ok = await send(
        `/api/${slug}/update`,
        '{"action":"page.click","data":{"max":9007199254740991,"id":"9007199254740993"},"request_id":"unsafe-2"}',
      )
      assert.equal(ok.statusCode, 200, ok.body)
      assert.deepEqual(await storedPayload('unsafe-2'), { max: 9007199254740991, id: '9007199254740993' })
    })

    it('is an UNSAFE_INTEGER refusal over the socket, naming the path, and the socket stays open', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      await c.next((f) => f.type === 'connected')
      const from = c.frames.length
      c.ws.send(
        '{"type":"campaign_event","event":"page.click","payload":{"n":-12345678901234567},"request_id":"ws-unsafe"}',
      )
      const refused = await c.next(
        (f) =>
          (f.type === 'error' || f.type === 'update_ack') && JSON.stringify(f).includes('UNSAFE_INTEGER'),
        20_000,
        from,
      )
      assert.match(JSON.stringify(refused), /\/payload\/n/)
      c.ws.send(JSON.stringify({ type: 'ping' }))
      await c.next((f) => f.type === 'pong', 20_000, from)
    })
  })
}
