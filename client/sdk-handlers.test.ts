// A page's own handler that throws, against the real server on a real port: every other handler
// still gets the frame, the error reaches `onError` as HANDLER_FAILED, and the connection goes on
// with its work (opening, sending what waited, reconnecting, later frames, ending for good).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createCampaign } from '../test/helper.js'
import { createClient, type OvasabiError } from './index.js'
import { errorsOf, recordingSockets, sdkServer, until } from './test-helpers.js'

/** The cause of every HANDLER_FAILED the connection reported, with the handler it names. */
function handlerFailures(seen: OvasabiError[]): Array<[string, string]> {
  return seen
    .filter((e) => e.code === 'HANDLER_FAILED')
    .map((e) => [(e.details as { handler: string }).handler, (e.cause as Error).message])
}

describe('SDK: a throwing handler costs nothing but its own run (real server)', () => {
  const server = sdkServer()

  test('frame handlers: the others run, the queued action goes out and resolves, later frames arrive', async () => {
    const slug = await createCampaign(server.ctx.app, { metadata: { scheduling: { frequency: 20 } } })
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 20 }))
    const seen = errorsOf(conn)
    const calls: string[] = []
    conn.on('connected', () => {
      calls.push('connected 1')
      throw new Error('page bug in connected')
    })
    conn.on('connected', () => calls.push('connected 2'))
    conn.on('*', (f) => f.type === 'connected' && calls.push('* connected'))
    conn.on('update_ack', () => {
      throw new Error('page bug in update_ack')
    })
    let presence = 0
    conn.on('presence_update', () => {
      throw new Error('page bug in presence_update')
    })
    conn.on('presence_update', () => presence++)
    // Queued while connecting: it goes once `connected` has arrived, whatever its handlers did.
    const ack = conn.dispatch('quote.submit', { name: 'Ada', email: `handlers.${Date.now()}@example.org` })
    assert.equal((await ack).status, 'success')
    assert.deepEqual(calls, ['connected 1', 'connected 2', '* connected'])
    assert.equal(conn.state, 'open')
    // Frames after those keep coming to every handler, the throwing one included.
    const other = server.keep(client.connect(slug, { frequency: 20 }))
    await until(() => other.state === 'open', 'the other open')
    for (let i = 1; presence < 3; i++) {
      other.sendCursor(i / 100, 0.5)
      await new Promise((r) => setTimeout(r, 60))
    }
    const failures = handlerFailures(seen)
    assert.deepEqual(failures[0], ['connected', 'page bug in connected'])
    assert.deepEqual(
      failures.filter(([h]) => h === 'update_ack'),
      [['update_ack', 'page bug in update_ack']],
    )
    assert.ok(failures.filter(([h]) => h === 'presence_update').length >= 3)
    assert.ok(failures.every(([h, m]) => m === `page bug in ${h}`))
    assert.ok(seen.every((e) => e.code === 'HANDLER_FAILED' && e.status === 0))
    // Not the connection's own error: that one means it ended.
    assert.equal(conn.error, undefined)
    // One socket all along: nothing made it reconnect.
    assert.deepEqual(calls, ['connected 1', 'connected 2', '* connected'])
  })

  test('state handlers: a throw on `open` still sends what waited; on `reconnecting` the reconnect still comes', async () => {
    const slug = await createCampaign(server.ctx.app)
    const rec = recordingSockets()
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: rec.WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1, backoff: { initialMs: 20, maxMs: 50 } }))
    const seen = errorsOf(conn)
    const states: string[] = []
    conn.onState((s) => {
      throw new Error(`page bug on ${s}`)
    })
    conn.onState((s) => states.push(s))
    const first = conn.dispatch('quote.submit', { name: 'Ada', email: `state1.${Date.now()}@example.org` })
    assert.equal((await first).status, 'success')
    // A drop: the socket closes without a word (1006).
    rec.sockets[0]!.terminate()
    await until(() => rec.sockets.length === 2 && conn.state === 'open', 'reconnected')
    const second = conn.dispatch('quote.submit', { name: 'Ada', email: `state2.${Date.now()}@example.org` })
    assert.equal((await second).status, 'success')
    assert.deepEqual(states, ['open', 'reconnecting', 'open'])
    assert.deepEqual(handlerFailures(seen), [
      ['state', 'page bug on open'],
      ['state', 'page bug on reconnecting'],
      ['state', 'page bug on open'],
    ])
  })

  test('onError handlers: one that throws on a refusal leaves the others, the close and the rejections', async () => {
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const conn = server.keep(
      client.connect(`nowhere_${Date.now()}`, { frequency: 1, backoff: { initialMs: 5, maxMs: 20 } }),
    )
    conn.onError(() => {
      throw new Error('page bug in onError')
    })
    const seen = errorsOf(conn)
    const states: string[] = []
    conn.onState((s) => states.push(s))
    const waiting = conn.dispatch('x.y', {}).catch((e: OvasabiError) => e)
    await until(() => conn.state === 'closed', 'closed')
    assert.deepEqual(
      seen.map((e) => e.code),
      ['CAMPAIGN_NOT_FOUND'],
    )
    assert.equal(conn.error?.code, 'CAMPAIGN_NOT_FOUND')
    assert.equal(((await waiting) as OvasabiError).code, 'CAMPAIGN_NOT_FOUND')
    assert.deepEqual(states, ['reconnecting', 'closed'])
  })

  test('a handler that unsubscribes itself, or another, mid-frame: this frame still reaches those it had', async () => {
    const slug = await createCampaign(server.ctx.app)
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const conn = server.keep(client.connect(slug, { frequency: 1 }))
    const calls: string[] = []
    const offB = conn.on('connected', () => calls.push('b'))
    const offA = conn.on('connected', () => {
      calls.push('a')
      offA()
      offB()
      conn.on('connected', () => calls.push('late'))
    })
    const offC = conn.on('connected', () => calls.push('c'))
    await until(() => conn.state === 'open', 'open')
    offC()
    assert.deepEqual(calls, ['b', 'a', 'c'])
  })

  test('close() in a state handler on `open`, or in a frame handler: no handler gets a frame after it', async () => {
    const slug = await createCampaign(server.ctx.app)
    const client = createClient({ baseUrl: server.baseUrl, WebSocket: recordingSockets().WebSocket })
    await client.createSession()
    const onOpen = server.keep(client.connect(slug, { frequency: 1 }))
    const inHandler = server.keep(client.connect(slug, { frequency: 1 }))
    const calls: string[] = []
    onOpen.onState((s) => s === 'open' && onOpen.close())
    onOpen.on('connected', () => calls.push('after close on open'))
    onOpen.on('*', () => calls.push('* after close on open'))
    inHandler.on('connected', () => {
      calls.push('first')
      inHandler.close()
    })
    inHandler.on('connected', () => calls.push('after close in a handler'))
    await until(() => onOpen.state === 'closed' && inHandler.state === 'closed', 'both closed')
    assert.deepEqual(calls, ['first'])
  })
})
