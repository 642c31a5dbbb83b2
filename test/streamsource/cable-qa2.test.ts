// `/cable`, second QA pass: the handshakes `ws` itself refuses are answered and counted as our own
// refusals, and a burst of protocol-level pings no longer cuts the socket without a close frame.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { registryMetric } from '../realtime/client.js'
import { standaloneAdmission } from '../realtime/fixtures.js'
import {
  assertRefusal,
  headerValues,
  type RawAnswer,
  rawRequest,
  rawUpgrade,
} from '../realtime/raw-upgrade.js'
import { until } from './cable-client.js'
import { cableOn, upgrade } from './cable-node.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000
const CABLE = { 'sec-websocket-protocol': 'actioncable-v1-json' }

/** An upgrade request to `/cable?token=token-1` as `ws` cannot take it: `method`, and `key` as given. */
function handshake(port: number, method: string, key: string): Promise<RawAnswer> {
  return rawRequest(
    port,
    `${method} /cable?token=token-1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      'Sec-WebSocket-Protocol: actioncable-v1-json\r\nContent-Length: 0\r\n\r\n',
  )
}

/** Frames the socket has received so far, parsed. */
function recording(ws: WebSocket): any[] {
  const frames: any[] = []
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
  return frames
}

describe('/cable, second QA pass', () => {
  const registry = new Registry()
  const admission = standaloneAdmission(registry, {
    closing: () => false,
    accept: () => assert.fail('/cable completes its own handshakes'),
  })
  const refused = (code: string) =>
    registryMetric(registry, 'ovasabi_ws_upgrades_refused_total', `code="${code}"`)
  let node: Awaited<ReturnType<typeof cableOn>>
  let port: number
  before(async () => {
    node = await cableOn({ admission: () => admission })
    port = Number(new URL(node.base).port)
  })
  after(() => node.close())

  it('answers a handshake ws cannot take with the REST error body (400), counted, not a plain-text page', async () => {
    const before = await refused('VALIDATION_FAILED')
    // The ActionCable protocol named twice is no valid list.
    const twice = await rawUpgrade(port, '/cable?token=token-1', {
      'Sec-WebSocket-Protocol': 'actioncable-v1-json, actioncable-v1-json',
    })
    assert.equal(assertRefusal(twice, 400), 'VALIDATION_FAILED', twice.raw)
    const body = JSON.parse(twice.body)
    assert.match(body.error.message, /Sec-WebSocket-Protocol/)
    assert.deepEqual(
      body.error.details.map((d: { path: string }) => d.path),
      ['/headers/sec-websocket-protocol'],
    )
    // A protocol version this server does not speak: refused naming the ones it does.
    const version = await rawUpgrade(port, '/cable?token=token-1', {
      ...CABLE,
      'Sec-WebSocket-Version': '12',
    })
    assert.equal(assertRefusal(version, 400), 'VALIDATION_FAILED', version.raw)
    assert.deepEqual(headerValues(version, 'sec-websocket-version'), ['13, 8'])
    // A key that is no 16 bytes in base64.
    const key = await handshake(port, 'GET', 'not-a-key')
    assert.equal(assertRefusal(key, 400), 'VALIDATION_FAILED', key.raw)
    assert.deepEqual(
      JSON.parse(key.body).error.details.map((d: { path: string }) => d.path),
      ['/headers/sec-websocket-key'],
    )
    assert.equal((await refused('VALIDATION_FAILED')) - before, 3, 'counted as refusals')
  })

  it('answers an upgrade that is no GET with 405, Allow: GET and the REST error body, counted', async () => {
    const answer = await handshake(port, 'POST', 'dGhlIHNhbXBsZSBub25jZQ==')
    assert.equal(assertRefusal(answer, 405), 'METHOD_NOT_ALLOWED', answer.raw)
    assert.deepEqual(headerValues(answer, 'allow'), ['GET'])
    assert.equal(await refused('METHOD_NOT_ALLOWED'), 1)
    // A good handshake still opens.
    const open = await upgrade(`${node.ws}/cable?token=token-1`)
    assert.equal(open.first?.type, 'welcome')
    open.ws!.close()
  })

  it('keeps a socket open through a ping flood, answering pings, never cutting it without a close frame', async () => {
    const answer = await upgrade(`${node.ws}/cable?token=token-2`)
    assert.equal(answer.first?.type, 'welcome')
    const ws = answer.ws!
    const frames = recording(ws)
    let closed: number | undefined
    ws.on('close', (code) => {
      closed = code
    })
    let pongs = 0
    ws.on('pong', () => pongs++)
    // Control pings with the largest payload, sent at once; before, the socket was cut (1006, no
    // reason) as soon as 60 of them waited for their pong.
    for (let i = 0; i < 2000; i++) ws.ping(Buffer.alloc(125, i & 0xff))
    const identifier = JSON.stringify({ channel: 'StreamsChannel' })
    ws.send(JSON.stringify({ command: 'subscribe', identifier }))
    await until(
      () => closed !== undefined || frames.some((f) => f.type === 'confirm_subscription'),
      'the subscription after the flood',
      WAIT,
    )
    assert.equal(closed, undefined, 'the socket stayed open')
    assert.ok(pongs >= 1, 'pings were answered')
    // Once the flood is over, a ping is answered with its own payload.
    await until(() => ws.bufferedAmount === 0, 'the flood written', WAIT)
    const pong = new Promise<Buffer>((resolve) =>
      ws.on('pong', (d) => d.toString() === 'hello' && resolve(d)),
    )
    ws.ping(Buffer.from('hello'))
    assert.equal((await pong).toString(), 'hello')
    ws.close()
  })
})
