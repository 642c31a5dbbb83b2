import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { WebSocket } from 'ws'
import { MAX_IDENTIFIER_LENGTH, MAX_SUBSCRIPTIONS } from '../../src/modules/stream/cable/connection.js'
import { buildTestApp, listenLocally, type TestContext } from '../helper.js'
import { account, type TestAccount } from './helpers.js'
import { until } from './cable-client.js'
import { upgrade } from './cable-node.js'

/**
 * One socket could hold any number of subscriptions, each under an identifier as long as a frame
 * (64 KiB): any account (sign-ups are open) kept subscribing `StreamsChannel` under new
 * identifiers and the node held every one of them, and sent every stream change once per
 * subscription, each frame carrying its identifier.
 */
describe('/cable subscriptions a socket may hold', () => {
  let ctx: TestContext
  let base: string
  let reader: TestAccount
  const sockets: WebSocket[] = []

  before(async () => {
    // A bucket large enough that the rate limit plays no part here.
    ctx = await buildTestApp({ env: { CABLE_COMMANDS_PER_SECOND: '1000' } })
    base = (await listenLocally(ctx.app)).replace(/^http/, 'ws')
    reader = await account(ctx.app, 'default')
  })
  after(async () => {
    for (const s of sockets) s.terminate()
    await ctx.close()
  })

  async function open() {
    const answer = await upgrade(`${base}/cable?token=${reader.token}`)
    assert.equal(answer.first?.type, 'welcome')
    const ws = answer.ws!
    sockets.push(ws)
    const frames: any[] = []
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
    const send = (command: string, identifier: string) => ws.send(JSON.stringify({ command, identifier }))
    const answered = (identifier: string) =>
      frames.find(
        (f) =>
          f.identifier === identifier &&
          (f.type === 'confirm_subscription' || f.type === 'reject_subscription'),
      )?.type
    return { ws, frames, send, answered }
  }
  const streams = (n: number) => JSON.stringify({ channel: 'StreamsChannel', n })

  it(`confirms up to ${MAX_SUBSCRIPTIONS} subscriptions, refuses the next (told why), and frees a slot on unsubscribe`, async () => {
    const s = await open()
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) s.send('subscribe', streams(i))
    const last = streams(MAX_SUBSCRIPTIONS - 1)
    await until(() => s.answered(last) !== undefined, 'the last allowed subscription', 20_000)
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) assert.equal(s.answered(streams(i)), 'confirm_subscription')

    const over = streams(MAX_SUBSCRIPTIONS)
    s.send('subscribe', over)
    await until(() => s.answered(over) !== undefined, 'the answer past the limit', 20_000)
    assert.equal(s.answered(over), 'reject_subscription')
    const told = s.frames.find((f) => f.identifier === over && f.message)
    assert.equal(told?.message?.action, 'error')
    assert.equal(told?.message?.code, 'TOO_MANY_SUBSCRIPTIONS')

    // One ended makes room for another, and the socket stayed open throughout.
    s.send('unsubscribe', streams(0))
    const again = streams(MAX_SUBSCRIPTIONS + 1)
    s.send('subscribe', again)
    await until(() => s.answered(again) !== undefined, 'the subscription after an unsubscribe', 20_000)
    assert.equal(s.answered(again), 'confirm_subscription')
    assert.equal(s.ws.readyState, s.ws.OPEN)
  })

  it('rejects an identifier longer than any channel needs', async () => {
    const s = await open()
    const long = JSON.stringify({ channel: 'StreamsChannel', pad: 'x'.repeat(MAX_IDENTIFIER_LENGTH) })
    s.send('subscribe', long)
    await until(() => s.answered(long) !== undefined, 'the answer to a long identifier', 20_000)
    assert.equal(s.answered(long), 'reject_subscription')
    // A usual one on the same socket still works.
    const usual = JSON.stringify({ channel: 'StreamsChannel' })
    s.send('subscribe', usual)
    await until(() => s.answered(usual) !== undefined, 'the usual subscription', 20_000)
    assert.equal(s.answered(usual), 'confirm_subscription')
  })
})
