// Refusals say what was wrong with this request: the content type it sent, the key it may not
// use, the action it probably meant. A typo of an action is refused rather than recorded as a
// tracked event while the action it meant never ran.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, createCampaign, guestToken, json, type TestContext } from './helper.js'

describe('what refusals say', () => {
  let t: TestContext
  let slug: string
  let auth: { authorization: string }

  before(async () => {
    t = await buildTestApp()
    slug = await createCampaign(t.app)
    auth = { authorization: `Bearer ${(await guestToken(t.app)).token}` }
  })
  after(() => t.close())

  const post = (payload: string | object, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/api/${slug}/update`,
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })
  const error = (res: { statusCode: number; body: string }) =>
    json(res as never).error as { code: string; message: string }

  it('415 names the content type that was sent, printable and bounded', async () => {
    const plain = await post('hello', { 'content-type': 'text/plain' })
    assert.equal(plain.statusCode, 415, plain.body)
    assert.deepEqual(error(plain), {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'Content-Type text/plain is not supported; send application/json',
    })
    const long = await post('hello', { 'content-type': `text/${'x'.repeat(300)}` })
    assert.equal(long.statusCode, 415)
    assert.ok(error(long).message.length < 200, error(long).message)
    assert.match(error(long).message, /^Content-Type text\/x{95}x*… is not supported/)
  })

  it('says a body was refused for a prototype key, not that it is not JSON', async () => {
    for (const body of [
      '{"action":"content.create","data":{"__proto__":{"x":1}}}',
      '{"action":"content.create","data":{"constructor":{"prototype":{"x":1}}}}',
    ]) {
      const res = await post(body)
      assert.equal(res.statusCode, 400, res.body)
      assert.deepEqual(error(res), {
        code: 'INVALID_JSON',
        message: 'Bodies must not carry "__proto__" or "constructor.prototype" keys',
      })
    }
    const broken = await post('{"action":')
    assert.equal(error(broken).message, 'Body is not valid JSON')
    // An ordinary `constructor` field is data like any other.
    const plain = await post({ action: 'content.create', data: { constructor: 'Ada' } })
    assert.equal(plain.statusCode, 200, plain.body)
  })

  it('an envelope without its type is told it lacks type, not that it is a malformed seed form', async () => {
    const res = await post({ event: 'quote.submit', payload: { name: 'B', email: 'b@example.org' } })
    assert.equal(res.statusCode, 400, res.body)
    const { details } = json(res).error as { details: Array<{ path: string; message: string }> }
    assert.ok(
      details.some((d) => d.path === '/' && /type/.test(d.message)),
      JSON.stringify(details),
    )
    assert.ok(!details.some((d) => /action|schema is false/.test(d.message)), JSON.stringify(details))
    // The seed form is still read as the seed form.
    const seed = await post({ action: 'quote.submit', payload: {} })
    assert.ok(
      (json(seed).error.details as Array<{ path: string }>).some((d) => d.path === '/payload'),
      seed.body,
    )
  })

  it("points at the field where the client sent it: /payload, the seed form's /data, /api/quote's top level", async () => {
    const paths = (res: { body: string }) =>
      (json(res as never).error.details as Array<{ path: string }>).map((d) => d.path).sort()
    const envelope = await post({
      type: 'campaign_event',
      event: 'quote.submit',
      payload: { name: 'Ann', email: 'nope' },
    })
    assert.deepEqual(paths(envelope), ['/payload/email'], envelope.body)
    const seed = await post({ action: 'quote.submit', data: { name: 'Ann', email: 'nope' } })
    assert.deepEqual(paths(seed), ['/data/email'], seed.body)
    // A payload the action's schema refuses before the handler runs, in the seed form.
    const stream = await post({ action: 'stream.chat', data: { stream_id: 'x', text: 1 } })
    assert.equal(stream.statusCode, 400, stream.body)
    assert.ok(paths(stream).length > 0 && paths(stream).every((p) => p.startsWith('/data/')), stream.body)
    const quote = await t.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { campaign: slug, name: 'Ann', email: 'nope', phone: 12 },
    })
    assert.deepEqual(paths(quote), ['/email', '/phone'], quote.body)
  })

  it('a value outside a list of constants is one detail naming them, not one per constant', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/campaign/${slug}/webhooks`,
      headers: adminHeaders,
      payload: { url: 'https://hooks.example.org/x', events: ['lead.created', 'lead.nope'] },
    })
    assert.equal(res.statusCode, 400, res.body)
    assert.deepEqual(json(res).error.details, [
      {
        in: 'body',
        path: '/events/1',
        message: 'must be one of: lead.created, lead.updated, lead.erased, *',
      },
    ])
  })

  it('refuses a near miss of an action, naming the action it resembles, and records nothing', async () => {
    for (const [typo, meant] of [
      ['quote.submitt', 'quote.submit'],
      ['user.registr', 'user.register'],
      ['referral.aply', 'referral.apply'],
    ]) {
      const res = await post({ action: typo, data: {}, request_id: `typo-${typo}` })
      assert.equal(res.statusCode, 400, res.body)
      assert.deepEqual(error(res), {
        code: 'UNKNOWN_ACTION',
        message: `Unknown action ${typo}; did you mean ${meant}?`,
      })
      const events = await t.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select('event')
        .where('event_id', '=', `typo-${typo}`)
        .execute()
      assert.deepEqual(events, [])
    }
  })

  it('still records other dotted names as tracked events, in a module namespace too', async () => {
    for (const event of ['media.play', 'quote.viewed', 'button.click']) {
      const res = await post({ action: event, data: {} })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).result.event, event)
    }
  })
})
