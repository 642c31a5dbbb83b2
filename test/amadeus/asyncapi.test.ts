import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Parser } from '@asyncapi/parser'
import { Type } from 'typebox'
import { generateAsyncApi } from '../../src/amadeus/asyncapi.js'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { buildTestApp, json, type TestContext } from '../helper.js'

async function errorsOf(doc: unknown) {
  const { diagnostics, document } = await new Parser().parse(JSON.stringify(doc))
  // Severity 0 is an error (1 warning, 2 information, 3 hint).
  return { errors: diagnostics.filter((d) => d.severity === 0), document }
}

describe('AsyncAPI document', () => {
  let t: TestContext
  before(async () => {
    t = await buildTestApp()
  })
  after(() => t.close())

  it('is served at /docs/asyncapi.json without auth and parses with zero errors', async () => {
    const res = await t.app.inject({ url: '/docs/asyncapi.json' })
    assert.equal(res.statusCode, 200)
    const doc = json(res)
    assert.equal(doc.asyncapi, '3.0.0')
    const { errors, document } = await errorsOf(doc)
    assert.deepEqual(
      errors.map((e) => `${e.code}: ${e.message} at ${e.path.join('.')}`),
      [],
    )
    assert.ok(document)
    const addresses = document
      .channels()
      .all()
      .map((c) => c.address())
    assert.deepEqual(addresses.sort(), ['/cable', '/ws/{campaign}/{user_id}'])
    const ws = document
      .channels()
      .all()
      .find((c) => c.address() === '/ws/{campaign}/{user_id}')!
    const names = ws
      .messages()
      .all()
      .map((m) => m.name())
    for (const type of ['connected', 'presence_update', 'update_ack', 'error', 'cursor', 'ping'])
      assert.ok(names.includes(type), type)
    const cursor = ws
      .messages()
      .all()
      .find((m) => m.name() === 'cursor')!
    assert.equal(cursor.payload()?.properties()?.x?.maximum(), 1)
    const send = document
      .operations()
      .all()
      .filter((o) => o.action() === 'send')
    const receive = document
      .operations()
      .all()
      .filter((o) => o.action() === 'receive')
    assert.ok(send.length > 0 && receive.length > 0)
  })

  it('includes a module event registered in one line, as a campaign_event payload', async () => {
    const registry = createEventSchemaRegistry()
    registry.register({
      channel: 'ws',
      name: 'referral.milestone',
      direction: 'send',
      schema: Type.Object({ user_id: Type.String(), count: Type.Integer({ minimum: 1 }) }),
    })
    const doc = generateAsyncApi(registry, { version: '1.2.3', port: 8090, publicUrl: 'https://x.example' })
    const { errors, document } = await errorsOf(doc)
    assert.deepEqual(errors, [])
    assert.equal(document!.servers().all()[0]!.protocol(), 'wss')
    const msg = document!
      .channels()
      .all()
      .flatMap((c) => c.messages().all())
      .find((m) => m.name() === 'referral.milestone')
    assert.ok(msg)
    const payload = msg.payload()!
    assert.equal(payload.properties()?.event?.const(), 'referral.milestone')
    assert.deepEqual(payload.properties()?.payload?.required(), ['user_id', 'count'])
  })

  it('registering the same event twice is refused', () => {
    const registry = createEventSchemaRegistry()
    assert.throws(
      () =>
        registry.register({ channel: 'ws', name: 'connected', direction: 'send', schema: Type.Object({}) }),
      /registered twice/,
    )
  })
})
