// `/cable`, third QA pass: each socket's frames are limited as `/ws`'s are (a token bucket; the
// first drop of a window told on its subscription, a sustained flood ended with ActionCable's
// disconnect message), and a command reuses a credential check that passed a moment ago instead of
// reading the account again, while an announced revocation (a cut-off, a logout, a revoked API key)
// still ends the socket at once and makes its next command check again.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { TOKENS_CUT_OFF_CHANNEL, type V1Principal } from '../../src/modules/stream/account.service.js'
import type { Channel } from '../../src/modules/stream/cable/channels.js'
import { createCableMetrics } from '../../src/modules/stream/cable/metrics.js'
import { createCableServer } from '../../src/modules/stream/cable/server.js'
import { unauthorized } from '../../src/modules/stream/v1.errors.js'
import { APIKEY_REVOKED_CHANNEL } from '../../src/platform/auth/apikeys.js'
import { createMemoryBus } from '../../src/platform/bus/memory.js'
import { ADMIN_KEY, buildTestApp, listenLocally, type TestContext } from '../helper.js'
import { metric, registryMetric } from '../realtime/client.js'
import { consumer, subscribe, until } from './cable-client.js'
import { cableOn, silent, upgrade } from './cable-node.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000
/** No periodic re-check and no reuse running out during a test: only what the test does counts. */
const HOUR = 60 * 60_000

/** A channel that records what its subscribers perform. */
function recording() {
  const performed: string[] = []
  const channel: Channel = {
    broadcastings: [],
    subscribed: async () => true,
    unsubscribed: async () => {},
    perform: async (_conn, _identifier, action) => {
      performed.push(action)
    },
  }
  return { channel, performed }
}

/** Frames the socket has received so far, parsed, and how it closed. */
function recording$(ws: WebSocket) {
  const frames: any[] = []
  const state: { frames: any[]; close?: { code: number; reason: string } } = { frames }
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
  ws.on('close', (code, reason) => {
    state.close = { code, reason: reason.toString() }
  })
  return state
}

/** An open raw socket subscribed (confirmed) to `channel` with `token`, and its identifier. */
async function subscribed(ws: string, token: string, channel: string) {
  const answer = await upgrade(`${ws}/cable?token=${token}`)
  assert.equal(answer.first?.type, 'welcome')
  const socket = answer.ws!
  const seen = recording$(socket)
  const identifier = JSON.stringify({ channel })
  socket.send(JSON.stringify({ command: 'subscribe', identifier }))
  await until(() => seen.frames.some((f) => f.type === 'confirm_subscription'), 'the confirmation', WAIT)
  const perform = (action: string) =>
    JSON.stringify({ command: 'message', identifier, data: JSON.stringify({ action }) })
  return { socket, seen, identifier, perform }
}

const isRateLimited = (m: any) => m?.action === 'error' && m.code === 'RATE_LIMITED'

describe('/cable inbound rate limit', () => {
  const registry = new Registry()
  const metrics = createCableMetrics(registry)
  const rec = recording()
  const consumers: Consumer[] = []
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    // 2 a second, a bucket of 4; past 6 drops within 10 s the socket is ended.
    node = await cableOn({
      commandsPerSecond: 2,
      recheckMs: HOUR,
      metrics,
      channels: { RecordingChannel: rec.channel },
    })
  })
  after(async () => {
    for (const c of consumers) c.disconnect()
    await node.close()
  })

  it('drops a burst past the bucket, tells the first drop on its subscription with retry_after_ms, and keeps the socket', async () => {
    const { socket, seen, identifier, perform } = await subscribed(node.ws, 'token-1', 'RecordingChannel')
    const dropsBefore = await registryMetric(
      registry,
      'ovasabi_cable_commands_refused_total',
      'reason="rate_limited"',
    )
    rec.performed.length = 0
    // The subscribe took one token of 4 (a slow host may have refilled one): of these eight, at
    // most four pass and the rest (at most six, below the flood) are dropped.
    for (let i = 0; i < 8; i++) socket.send(perform(`burst-${i}`))
    await until(() => seen.frames.some((f) => isRateLimited(f.message)), 'the rate-limit error', WAIT)
    const told = seen.frames.filter((f) => f.identifier === identifier && isRateLimited(f.message))
    assert.equal(told.length, 1, 'the window is told once')
    assert.ok(told[0].message.retry_after_ms > 0, JSON.stringify(told[0]))
    assert.match(told[0].message.message, /Too many commands/)
    // What passed runs in order; what was dropped does not run.
    await until(() => rec.performed.length >= 3, 'the admitted messages performed', WAIT)
    const passed = rec.performed.length
    assert.ok(passed <= 4, rec.performed.join())
    assert.deepEqual(
      rec.performed,
      Array.from({ length: passed }, (_, i) => `burst-${i}`),
    )
    assert.equal(
      (await registryMetric(registry, 'ovasabi_cable_commands_refused_total', 'reason="rate_limited"')) -
        dropsBefore,
      8 - passed,
      'each dropped frame counted',
    )
    // The socket stays, and takes commands again once its bucket refilled (as it was told).
    assert.equal(seen.close, undefined)
    await new Promise((r) => setTimeout(r, told[0].message.retry_after_ms + 600))
    socket.send(perform('later'))
    await until(() => rec.performed.includes('later'), 'a later message performed', WAIT)
    assert.equal(seen.close, undefined)
    socket.close()
  })

  it("ends a sustained flood with ActionCable's disconnect (reconnect: true), then closes 1008, counted", async () => {
    const { socket, seen, perform } = await subscribed(node.ws, 'token-2', 'RecordingChannel')
    const before = await registryMetric(registry, 'ovasabi_cable_disconnects_total', 'reason="rate_limited"')
    for (let i = 0; i < 50; i++) socket.send(perform(`flood-${i}`))
    await until(() => seen.close !== undefined, 'the socket closed', WAIT)
    assert.deepEqual(
      seen.frames.filter((f) => f.type === 'disconnect'),
      [{ type: 'disconnect', reason: 'rate_limited', reconnect: true }],
    )
    assert.equal(seen.frames.at(-1)?.type, 'disconnect', 'the disconnect is the last frame')
    assert.deepEqual(seen.close, { code: 1008, reason: 'RATE_LIMITED' })
    assert.ok(!rec.performed.some((a) => /^flood-(1\d|[2-4]\d)$/.test(a)), 'frames past the bucket never ran')
    assert.equal(
      (await registryMetric(registry, 'ovasabi_cable_disconnects_total', 'reason="rate_limited"')) - before,
      1,
    )
  })

  it('never rejects a subscription for the rate: @rails/actioncable re-sends it until it is confirmed', async () => {
    const c = consumer(node.base, 'token-3')
    consumers.push(c)
    // Six subscriptions at once against a bucket of four: the client's re-sends (every 500 ms
    // while unconfirmed) bring the dropped ones in as the bucket refills.
    const subs = await Promise.all(
      Array.from({ length: 6 }, (_, room) => subscribe(c, { channel: 'RecordingChannel', room })),
    )
    assert.ok(subs.every((s) => s.connected && !s.rejected && !s.disconnected))
    assert.ok(
      subs.some((s) => s.received.some(isRateLimited)),
      'the first dropped subscribe was told on its identifier',
    )
  })

  it('does not count protocol-level pings against the bucket', async () => {
    const { socket, seen, perform } = await subscribed(node.ws, 'token-4', 'RecordingChannel')
    for (let i = 0; i < 200; i++) socket.ping()
    socket.send(perform('after-pings'))
    await until(() => rec.performed.includes('after-pings'), 'the message after the pings', WAIT)
    assert.equal(seen.close, undefined)
    assert.ok(!seen.frames.some((f) => isRateLimited(f.message)))
    socket.close()
  })
})

describe('/cable reuses a credential check that passed a moment ago', () => {
  const rec = recording()
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    node = await cableOn({
      commandsPerSecond: 1000,
      credentialReuseMs: HOUR,
      recheckMs: HOUR,
      channels: { RecordingChannel: rec.channel },
    })
  })
  after(() => node.close())

  it('reads the credential once for many commands, not once per command', async () => {
    const { socket, perform } = await subscribed(node.ws, 'token-11', 'RecordingChannel')
    const seen = node.accounts.checks('token-11')
    for (let i = 0; i < 20; i++) socket.send(perform(`m-${i}`))
    await until(() => rec.performed.includes('m-19'), 'the messages performed', WAIT)
    assert.equal(node.accounts.checks('token-11'), seen, "the subscribe's check served them all")
    socket.close()
  })

  it("closes the socket at once when its account's cut-off is announced, though a check was reused", async () => {
    const { socket, seen, perform } = await subscribed(node.ws, 'token-12', 'RecordingChannel')
    node.accounts.refused.add('token-12')
    await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 12 })
    await until(() => seen.close !== undefined, 'the revoked socket closed', WAIT)
    assert.deepEqual(seen.frames.at(-1), { type: 'disconnect', reason: 'unauthorized', reconnect: false })
    socket.send(perform('too-late'))
    assert.ok(!rec.performed.includes('too-late'))
  })

  it('an announcement for the account makes the next command read the credential again', async () => {
    const { socket, seen, perform } = await subscribed(node.ws, 'token-13', 'RecordingChannel')
    const first = node.accounts.checks('token-13')
    // Another login of the account logged out: this token passes the re-check it causes...
    await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 13 })
    await until(() => node.accounts.checks('token-13') === first + 1, 'the re-check', WAIT)
    // ...and no command goes on a check from before the announcement: this one is refused.
    node.accounts.refused.add('token-13')
    socket.send(perform('after-announcement'))
    await until(() => seen.close !== undefined, 'the socket closed by its command', WAIT)
    assert.equal(node.accounts.checks('token-13'), first + 2)
    assert.ok(!rec.performed.includes('after-announcement'))
  })
})

/** Credentials `key-<id>` are API keys, as account.service.ts answers for them; `refused` ones are revoked. */
function fakeKeys() {
  const refused = new Set<string>()
  return {
    refused,
    async authenticate(credential: string): Promise<V1Principal> {
      if (refused.has(credential)) throw unauthorized()
      return { kind: 'apikey', role: 'editor', service: true, key_id: credential.slice('key-'.length) }
    },
  }
}

describe('/cable and a revoked API key', () => {
  it('closes the socket of a key whose revocation is announced at once, not at the next periodic pass', async () => {
    const keys = fakeKeys()
    const bus = createMemoryBus()
    const cable = createCableServer({
      accounts: keys,
      bus,
      channels: { RecordingChannel: recording().channel },
      isMaintenance: () => false,
      log: silent,
      recheckMs: HOUR,
      credentialReuseMs: HOUR,
    })
    const server = createServer()
    cable.attach(server)
    await cable.start()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const ws = `ws://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      const revoked = await subscribed(ws, 'key-aaa', 'RecordingChannel')
      const other = await subscribed(ws, 'key-bbb', 'RecordingChannel')
      keys.refused.add('key-aaa')
      await bus.publish(APIKEY_REVOKED_CHANNEL, { ids: ['aaa'] })
      await until(() => revoked.seen.close !== undefined, "the revoked key's socket closed", WAIT)
      assert.deepEqual(revoked.seen.frames.at(-1), {
        type: 'disconnect',
        reason: 'unauthorized',
        reconnect: false,
      })
      assert.equal(other.seen.close, undefined, "another key's socket stays")
      other.socket.close()
    } finally {
      await cable.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  })
})

describe('/cable limits in the app (CABLE_COMMANDS_PER_SECOND, CABLE_CREDENTIAL_REUSE_MS)', () => {
  let ctx: TestContext
  let ws: string
  before(async () => {
    ctx = await buildTestApp({
      env: { CABLE_COMMANDS_PER_SECOND: '2', CABLE_CREDENTIAL_REUSE_MS: '30000' },
    })
    ws = (await listenLocally(ctx.app)).replace(/^http/, 'ws')
  })
  after(() => ctx.close())

  it('ends a flood as configured, counted in /metrics', async () => {
    const { key } = await ctx.app.platform.apiKeys.create({ name: 'flood', role: 'editor' })
    const { socket, seen } = await subscribed(ws, key, 'StreamsChannel')
    for (let i = 0; i < 30; i++)
      socket.send(JSON.stringify({ command: 'subscribe', identifier: `{"n":${i}}` }))
    await until(() => seen.close !== undefined, 'the flooding socket closed', WAIT)
    assert.deepEqual(seen.frames.at(-1), { type: 'disconnect', reason: 'rate_limited', reconnect: true })
    assert.equal(await metric(ctx.app, 'ovasabi_cable_disconnects_total', 'reason="rate_limited"'), 1)
    assert.ok((await metric(ctx.app, 'ovasabi_cable_commands_refused_total', 'reason="rate_limited"')) >= 7)
  })

  it('closes the socket of a revoked API key at once, though its checks are reused', async () => {
    const created = await ctx.app.platform.apiKeys.create({ name: 'wall', role: 'editor' })
    const { seen } = await subscribed(ws, created.key, 'StreamsChannel')
    // The admin key's socket, on the same node, is not concerned.
    const admin = await subscribed(ws, encodeURIComponent(ADMIN_KEY), 'StreamsChannel')
    assert.equal(await ctx.app.platform.apiKeys.revoke(created.id), true)
    await until(() => seen.close !== undefined, "the revoked key's socket closed", WAIT)
    assert.deepEqual(seen.frames.at(-1), { type: 'disconnect', reason: 'unauthorized', reconnect: false })
    assert.equal(admin.seen.close, undefined)
    admin.socket.close()
  })
})
