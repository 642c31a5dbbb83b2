import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { WebSocket } from 'ws'
import { MAX_SUBSCRIPTIONS } from '../../src/modules/stream/cable/connection.js'
import { buildTestApp, json, listenLocally, type TestContext } from '../helper.js'
import { waitFor } from '../wait-for.js'
import { upgrade } from './cable-node.js'
import { account } from './helpers.js'

/**
 * The AsyncAPI document is what a `/cable` client generates its types from. The error frames a
 * subscription is told (a refused subscribe, a dropped command, a refused cell edit) carry a
 * `code` and, when rate limited, `retry_after_ms`; the document said a collaboration error had a
 * message only, and a `StreamsChannel` subscription no error at all, so a generated client threw
 * on frames the server really sends.
 */
/**
 * Frames a second per socket: its bucket holds twice that, room for every subscription a socket
 * may hold in one burst, which `FLOOD` commands at once overrun (without reaching the flood that
 * ends the socket, past 3× the rate of drops).
 */
const RATE = 60
const FLOOD = 2 * RATE + 10

describe('/cable error frames in the AsyncAPI document', () => {
  let ctx: TestContext
  let base: string
  let doc: any
  const ajv = new Ajv({ strict: false, allErrors: true })
  const sockets: WebSocket[] = []

  before(async () => {
    ctx = await buildTestApp({ env: { CABLE_COMMANDS_PER_SECOND: String(RATE) } })
    base = (await listenLocally(ctx.app)).replace(/^http/, 'ws')
    doc = json(await ctx.app.inject({ url: '/docs/asyncapi.json' }))
    addFormats.default(ajv)
  })
  after(async () => {
    for (const s of sockets) s.terminate()
    await ctx.close()
  })

  async function open(role: 'default' | 'editor' = 'default') {
    const reader = await account(ctx.app, role)
    const answer = await upgrade(`${base}/cable?token=${reader.token}`)
    assert.equal(answer.first?.type, 'welcome')
    const ws = answer.ws!
    sockets.push(ws)
    const frames: any[] = []
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
    const send = (command: string, identifier: string, data?: unknown) =>
      ws.send(JSON.stringify({ command, identifier, ...(data ? { data: JSON.stringify(data) } : {}) }))
    return { frames, send }
  }
  const told = (frames: any[], identifier: string) =>
    frames.find((f) => f.identifier === identifier && f.message?.action === 'error')?.message
  /**
   * Checks `frame` against the document's message for `channel`: valid, and every field it carries
   * named by the variant of its `action` (a generated client knows no field the document leaves out).
   */
  function assertDescribed(channel: string, frame: { identifier: string; message: Record<string, unknown> }) {
    const payload = doc.channels.cable.messages[`server.${channel}`]?.payload
    assert.ok(payload, `a message for ${channel}`)
    const validate: ValidateFunction = ajv.compile(payload)
    assert.ok(validate(frame), `${JSON.stringify(frame)}: ${JSON.stringify(validate.errors)}`)
    const variants: any[] = payload.properties.message.anyOf ?? [payload.properties.message]
    const variant = variants.find((v) => {
      const action = v.properties?.action
      return (
        action?.const === frame.message.action ||
        action?.anyOf?.some((a: any) => a.const === frame.message.action)
      )
    })
    assert.ok(variant, `${channel} documents action ${frame.message.action}`)
    for (const key of Object.keys(frame.message))
      assert.ok(key in variant.properties, `${channel} ${frame.message.action} documents ${key}`)
  }

  it('a StreamsChannel subscription refused past the limit', async () => {
    const s = await open()
    const streams = (n: number) => JSON.stringify({ channel: 'StreamsChannel', n })
    assert.ok(MAX_SUBSCRIPTIONS + 1 < 2 * RATE, 'the subscriptions fit in one burst')
    for (let i = 0; i <= MAX_SUBSCRIPTIONS; i++) s.send('subscribe', streams(i))
    const over = streams(MAX_SUBSCRIPTIONS)
    const error = await waitFor(() => told(s.frames, over), 'the error past the limit')
    assert.equal(error.code, 'TOO_MANY_SUBSCRIPTIONS')
    assertDescribed('StreamsChannel', { identifier: over, message: error })
  })

  it('a collaboration command dropped by the rate limit, and one refused', async () => {
    const s = await open('editor')
    const collab = JSON.stringify({ channel: 'CollaborativeStreamsChannel' })
    s.send('subscribe', collab)
    await waitFor(() => s.frames.some((f) => f.type === 'confirm_subscription'), 'the subscription')
    for (let i = 0; i < FLOOD; i++) s.send('message', collab, { action: 'no_such_action' })
    const refused = await waitFor(
      () => s.frames.find((f) => f.identifier === collab && f.message?.action === 'error' && !f.message.code),
      'a refused command',
    )
    const limited = await waitFor(
      () => s.frames.find((f) => f.identifier === collab && f.message?.code === 'RATE_LIMITED'),
      'a dropped command',
    )
    assert.equal(typeof limited.message.retry_after_ms, 'number')
    for (const frame of [refused, limited]) assertDescribed('CollaborativeStreamsChannel', frame)
  })
})
