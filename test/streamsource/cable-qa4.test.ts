// `/cable`, fourth QA pass: a role change reaches open sockets at once, on every node (a demoted
// editor's collaboration subscription ends, its locks released, while its other subscriptions
// stay), and an `unsubscribe` over the inbound rate is still honoured.
import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { TOKENS_CUT_OFF_CHANNEL, type V1Principal } from '../../src/modules/stream/account.service.js'
import type { Channel } from '../../src/modules/stream/cable/channels.js'
import { createCableMetrics } from '../../src/modules/stream/cable/metrics.js'
import { createCableServer } from '../../src/modules/stream/cable/server.js'
import type { AccountRole } from '../../src/modules/stream/stream.schema.js'
import { createMemoryBus } from '../../src/platform/bus/memory.js'
import { adminHeaders, buildTestApp, DIALECTS, json, REDIS_URL, type TestContext } from '../helper.js'
import { registryMetric } from '../realtime/client.js'
import { consumer, subscribe, type TestSubscription, until } from './cable-client.js'
import { cableOn, silent, upgrade } from './cable-node.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000
/** No periodic re-check and no reuse running out during a test: only what the test does counts. */
const HOUR = 60 * 60_000

/** Frames the socket has received so far, parsed, and how it closed. */
function recorded(ws: WebSocket) {
  const state: { frames: any[]; close?: { code: number; reason: string } } = { frames: [] }
  ws.on('message', (d) => state.frames.push(JSON.parse(d.toString())))
  ws.on('close', (code, reason) => {
    state.close = { code, reason: reason.toString() }
  })
  return state
}

/** A raw socket with `token`, and a way to subscribe it (confirmed) to a channel. */
async function rawSocket(ws: string, token: string) {
  const answer = await upgrade(`${ws}/cable?token=${token}`)
  assert.equal(answer.first?.type, 'welcome')
  const socket = answer.ws!
  const seen = recorded(socket)
  return {
    socket,
    seen,
    async subscribe(identifier: string) {
      socket.send(JSON.stringify({ command: 'subscribe', identifier }))
      await until(
        () => seen.frames.some((f) => f.type === 'confirm_subscription' && f.identifier === identifier),
        `the confirmation of ${identifier}`,
        WAIT,
      )
    },
    perform: (identifier: string, action: string) =>
      JSON.stringify({ command: 'message', identifier, data: JSON.stringify({ action }) }),
    unsubscribe: (identifier: string) => JSON.stringify({ command: 'unsubscribe', identifier }),
  }
}

/** A channel recording what its subscribers do; `editorsOnly`: only editors and admins may stay. */
function recording(editorsOnly = false) {
  const performed: string[] = []
  const unsubscribed: string[] = []
  const allows = (p: V1Principal) => p.role === 'editor' || p.role === 'admin'
  const channel: Channel = {
    broadcastings: ['recording'],
    subscribed: async (conn) => !editorsOnly || allows(conn.principal),
    ...(editorsOnly ? { allows } : {}),
    unsubscribed: async (_conn, identifier) => {
      unsubscribed.push(identifier)
    },
    perform: async (_conn, _identifier, action) => {
      performed.push(action)
    },
  }
  return { channel, performed, unsubscribed }
}

/** Accounts `token-<id>` whose role the test changes as it goes (editor until told otherwise). */
function roleAccounts() {
  const roles = new Map<string, AccountRole>()
  return {
    roles,
    async authenticate(credential: string): Promise<V1Principal> {
      const id = Number(credential.split('-')[1])
      return {
        kind: 'account',
        account_id: id,
        role: roles.get(credential) ?? 'editor',
        service: false,
        token_id: credential,
      }
    },
  }
}

/** A `/cable` server on its own port over `roleAccounts`, with an editors-only and an open channel. */
async function roleNode(options: { credentialReuseMs: number }) {
  const accounts = roleAccounts()
  const bus = createMemoryBus()
  const editors = recording(true)
  const open = recording()
  const cable = createCableServer({
    accounts,
    bus,
    channels: { EditorsChannel: editors.channel, OpenChannel: open.channel },
    isMaintenance: () => false,
    log: silent,
    recheckMs: HOUR,
    ...options,
  })
  const server = createServer()
  cable.attach(server)
  await cable.start()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    accounts,
    bus,
    editors,
    open,
    ws: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    async close() {
      await cable.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

const EDITORS = JSON.stringify({ channel: 'EditorsChannel' })
const OPEN = JSON.stringify({ channel: 'OpenChannel' })
const isRoleChanged = (f: any) => f.identifier === EDITORS && f.message?.code === 'FORBIDDEN'

describe('/cable re-authorises open sockets when their role changes', () => {
  it('an announced demotion ends the subscriptions the new role does not allow, keeps the rest and the socket', async () => {
    // Checks are reused for an hour: only the announcement can tell the socket.
    const node = await roleNode({ credentialReuseMs: HOUR })
    try {
      const s = await rawSocket(node.ws, 'token-21')
      await s.subscribe(EDITORS)
      await s.subscribe(OPEN)
      const other = await rawSocket(node.ws, 'token-22')
      await other.subscribe(EDITORS)

      node.accounts.roles.set('token-21', 'default')
      await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 21 })
      await until(
        () => s.seen.frames.some((f) => f.type === 'reject_subscription' && f.identifier === EDITORS),
        'the editors-only subscription rejected',
        WAIT,
      )
      // Told why on the identifier, then rejected; the channel heard it end (locks, presence).
      const told = s.seen.frames.findIndex(isRoleChanged)
      const rejected = s.seen.frames.findIndex((f) => f.type === 'reject_subscription')
      assert.ok(told >= 0 && told < rejected, JSON.stringify(s.seen.frames))
      assert.deepEqual(node.editors.unsubscribed, [EDITORS])
      // The socket and its other subscription stay; a message on the ended one is not performed.
      s.socket.send(s.perform(EDITORS, 'after-demotion'))
      s.socket.send(s.perform(OPEN, 'open-after-demotion'))
      await until(() => node.open.performed.includes('open-after-demotion'), 'the open channel used', WAIT)
      assert.ok(!node.editors.performed.includes('after-demotion'))
      assert.equal(s.seen.close, undefined)
      // Another account's socket was not concerned.
      assert.ok(!other.seen.frames.some((f) => f.type === 'reject_subscription'))
      other.socket.send(other.perform(EDITORS, 'other-still-editor'))
      await until(() => node.editors.performed.includes('other-still-editor'), "the other's message", WAIT)

      // Promoted back, it may subscribe again.
      node.accounts.roles.set('token-21', 'admin')
      await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 21 })
      const again = JSON.stringify({ channel: 'EditorsChannel', again: true })
      await s.subscribe(again)
      s.socket.close()
      other.socket.close()
    } finally {
      await node.close()
    }
  })

  it("a demotion seen by a command's own check (no announcement) ends those subscriptions before the command runs", async () => {
    const node = await roleNode({ credentialReuseMs: 0 })
    try {
      const s = await rawSocket(node.ws, 'token-23')
      await s.subscribe(EDITORS)
      await s.subscribe(OPEN)
      node.accounts.roles.set('token-23', 'default')
      // The message on the editors-only subscription is checked: it finds the demotion.
      s.socket.send(s.perform(EDITORS, 'demoted-message'))
      s.socket.send(s.perform(OPEN, 'after'))
      await until(() => node.open.performed.includes('after'), 'the later message', WAIT)
      assert.ok(s.seen.frames.some((f) => f.type === 'reject_subscription' && f.identifier === EDITORS))
      assert.ok(s.seen.frames.some(isRoleChanged))
      assert.ok(!node.editors.performed.includes('demoted-message'), 'the demoted command did not run')
      assert.deepEqual(node.editors.unsubscribed, [EDITORS])
      s.socket.close()
    } finally {
      await node.close()
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`/cable and an admin changing a role (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let owner: TestAccount
    let watcher: TestAccount
    const consumers: Consumer[] = []
    const track = (c: Consumer) => {
      consumers.push(c)
      return c
    }
    before(async () => {
      // Checks are reused for the longest allowed: only the announcement reaches the socket in time.
      ctx = await buildTestApp({ dialect, env: { CABLE_CREDENTIAL_REUSE_MS: '30000' } })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
      owner = await account(ctx.app, 'editor')
      watcher = await account(ctx.app, 'admin')
    })
    after(async () => {
      for (const c of consumers) c.disconnect()
      await ctx.close()
    })

    it('PATCH role=default: the editor loses the collaboration subscription and its lock, keeps StreamsChannel', async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: owner.headers,
        payload: { link: uniqueLink(), title: 'Wall' },
      })
      assert.equal(created.statusCode, 201, created.body)
      const cell = `stream_${json(created).stream.id}_title`
      const c = track(consumer(base, owner.token))
      const streams = await subscribe(c, 'StreamsChannel')
      const collab = await subscribe(c, 'CollaborativeStreamsChannel')
      const other = await subscribe(track(consumer(base, watcher.token)), 'CollaborativeStreamsChannel')
      collab.subscription.perform('lock_cell', { cell_id: cell })
      await until(
        () => other.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
        'locked',
      )

      const res = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/users/${owner.id}`,
        headers: adminHeaders,
        payload: { role: 'default' },
      })
      assert.equal(res.statusCode, 200, res.body)
      await until(() => collab.rejected, 'the collaboration subscription rejected', WAIT)
      assert.ok(collab.received.some((m) => m.action === 'error' && m.code === 'FORBIDDEN'))
      // Its lock went with it, told to the other editors.
      await until(
        () => other.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === cell),
        'the lock released',
        WAIT,
      )
      // The wall keeps its stream updates on the same socket.
      assert.ok(!streams.disconnected)
      const link = uniqueLink()
      await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: adminHeaders,
        payload: { link },
      })
      await until(
        () => streams.received.some((m) => m.action === 'created' && m.stream.link === link),
        'a broadcast after the demotion',
        WAIT,
      )
      assert.ok(!streams.disconnected)
    })
  })
}

describe('/cable role changes across nodes', {
  skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'needs Redis and PostgreSQL',
}, () => {
  let a: TestContext
  let b: TestContext
  const consumers: Consumer[] = []
  before(async () => {
    const env = { JWT_SECRET: randomBytes(32).toString('hex'), CABLE_CREDENTIAL_REUSE_MS: '30000' }
    a = await buildTestApp({ redis: true, env, dialect: 'postgres' })
    b = await buildTestApp({ redis: true, env, databaseUrl: a.databaseUrl })
    for (const node of [a, b]) await node.app.listen({ port: 0, host: '127.0.0.1' })
  })
  after(async () => {
    for (const c of consumers) c.disconnect()
    await b?.close()
    await a?.close()
  })

  it('a demotion made on node A ends the collaboration subscription of a socket on node B', async () => {
    const editor = await account(a.app, 'editor')
    const c = consumer(`http://127.0.0.1:${(b.app.server.address() as { port: number }).port}`, editor.token)
    consumers.push(c)
    const collab: TestSubscription = await subscribe(c, 'CollaborativeStreamsChannel')
    const res = await a.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${editor.id}`,
      headers: adminHeaders,
      payload: { role: 'default' },
    })
    assert.equal(res.statusCode, 200, res.body)
    await until(() => collab.rejected, 'rejected on node B', WAIT)
  })
})

describe('/cable honours an unsubscribe over the inbound rate', () => {
  const registry = new Registry()
  const metrics = createCableMetrics(registry)
  const rec = recording()
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    // 2 a second, a bucket of 4; past 6 frames over it within 10 s the socket is ended.
    node = await cableOn({ commandsPerSecond: 2, recheckMs: HOUR, metrics, channels: { Rec: rec.channel } })
  })
  after(() => node.close())

  it('an unsubscribe sent past an empty bucket ends the subscription, in order, and is not counted as refused', async () => {
    const s = await rawSocket(node.ws, 'token-31')
    const id = JSON.stringify({ channel: 'Rec', n: 31 })
    await s.subscribe(id)
    const refusedBefore = await registryMetric(
      registry,
      'ovasabi_cable_commands_refused_total',
      'reason="rate_limited"',
    )
    // Four messages empty the bucket (one may have refilled on a slow host: five then); the
    // unsubscribe comes past it all the same, after the messages admitted before it.
    for (let i = 0; i < 5; i++) s.socket.send(s.perform(id, `m-${i}`))
    s.socket.send(s.unsubscribe(id))
    await until(() => rec.unsubscribed.includes(id), 'the subscription ended', WAIT)
    const passed = rec.performed.filter((a) => a.startsWith('m-')).length
    assert.ok(passed >= 3 && passed <= 5, rec.performed.join())
    // ActionCable answers an unsubscribe with nothing; the socket stays.
    assert.ok(!s.seen.frames.some((f) => f.type === 'reject_subscription' || f.type === 'disconnect'))
    assert.equal(s.seen.close, undefined)
    const refused =
      (await registryMetric(registry, 'ovasabi_cable_commands_refused_total', 'reason="rate_limited"')) -
      refusedBefore
    assert.equal(refused, 5 - passed, 'only the dropped messages counted')
    // Nothing more reaches the ended subscription.
    await node.bus.publish('ovasabi:cable', { broadcasting: 'recording', message: { n: 1 } })
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(!s.seen.frames.some((f) => f.message?.n === 1))
    s.socket.close()
  })

  it('a subscribe immediately undone past the bucket leaves no subscription', async () => {
    const s = await rawSocket(node.ws, 'token-32')
    const ids = Array.from({ length: 5 }, (_, n) => JSON.stringify({ channel: 'Rec', n: 320 + n }))
    // Five subscribes against a bucket of four: one is dropped (the client would re-send it); the
    // five unsubscribes all come past the bucket (six over it in all: not yet a flood).
    for (const id of ids) s.socket.send(JSON.stringify({ command: 'subscribe', identifier: id }))
    for (const id of ids) s.socket.send(s.unsubscribe(id))
    const confirmed = () =>
      s.seen.frames.filter((f) => f.type === 'confirm_subscription').map((f) => f.identifier as string)
    await until(
      () => confirmed().length > 0 && confirmed().every((id) => rec.unsubscribed.includes(id)),
      'every confirmed subscription ended',
      WAIT,
    )
    assert.equal(s.seen.close, undefined)
    s.socket.close()
  })

  it('a flood of unsubscribes still ends the socket as a flood', async () => {
    const s = await rawSocket(node.ws, 'token-33')
    for (let i = 0; i < 50; i++) s.socket.send(s.unsubscribe(JSON.stringify({ channel: 'Rec', n: i })))
    await until(() => s.seen.close !== undefined, 'the flooding socket closed', WAIT)
    assert.deepEqual(s.seen.frames.at(-1), { type: 'disconnect', reason: 'rate_limited', reconnect: true })
    assert.deepEqual(s.seen.close, { code: 1008, reason: 'RATE_LIMITED' })
  })
})

describe('/cable shutdown with Redis', {
  skip: (!REDIS_URL || !process.env.DATABASE_URL) && 'needs Redis and PostgreSQL',
}, () => {
  it("releases the closing node's cell locks and presence before it goes, not after a TTL", async () => {
    const ctx = await buildTestApp({ redis: true, dialect: 'postgres' })
    const redis = new Redis(REDIS_URL!)
    let closed = false
    try {
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      const ws = `ws://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
      const editor = await account(ctx.app, 'editor')
      // Locks live under the cell's name in the Redis other suites use too: a stream id of its own.
      await sql`select setval(pg_get_serial_sequence('service_stream_main', 'id'), ${randomInt(1e6, 1e9)})`.execute(
        ctx.app.platform.database.db,
      )
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link: uniqueLink() },
      })
      const cell = `stream_${json(created).stream.id}_title`
      const s = await rawSocket(ws, editor.token)
      const collab = JSON.stringify({ channel: 'CollaborativeStreamsChannel' })
      await s.subscribe(collab)
      s.socket.send(
        JSON.stringify({
          command: 'message',
          identifier: collab,
          data: JSON.stringify({ action: 'lock_cell', cell_id: cell }),
        }),
      )
      await until(() => s.seen.frames.some((f) => f.message?.action === 'cell_locked'), 'the lock', WAIT)
      const present = async () =>
        Object.values(await redis.hgetall('ovasabi:cable:presence')).filter(
          (raw) => JSON.parse(raw).user_email === editor.email,
        )
      assert.equal((await present()).length, 1)
      assert.equal(await redis.get(`ovasabi:cable:lock:${cell}`), String(editor.id))

      closed = true
      await ctx.close()
      assert.deepEqual(s.seen.frames.at(-1), {
        type: 'disconnect',
        reason: 'server_restart',
        reconnect: true,
      })
      // Another node's editors may take the cell now, and no longer see the editor online.
      assert.equal(await redis.get(`ovasabi:cable:lock:${cell}`), null)
      assert.deepEqual(await present(), [])
    } finally {
      redis.disconnect()
      if (!closed) await ctx.close()
    }
  })
})

describe('/cable and a client that stops reading', () => {
  it('cuts the socket off once over MAX_BUFFERED_BYTES wait for it, instead of buffering every broadcast', async () => {
    const registry = new Registry()
    const rec = recording()
    const node = await cableOn({
      recheckMs: HOUR,
      metrics: createCableMetrics(registry),
      channels: { Rec: rec.channel },
    })
    try {
      const s = await rawSocket(node.ws, 'token-41')
      const reader = await rawSocket(node.ws, 'token-42')
      const id = JSON.stringify({ channel: 'Rec' })
      await s.subscribe(id)
      await reader.subscribe(id)
      // The wall display froze: its end stops reading, the kernel's buffers fill, then the server's.
      ;(s.socket as unknown as { _socket: { pause(): void } })._socket.pause()
      const blob = 'x'.repeat(64 * 1024)
      // At most 64 MiB: far more than the loopback's buffers and the bound together.
      for (let i = 0; i < 1024 && node.cable.connections() === 2; i++) {
        await node.bus.publish('ovasabi:cable', { broadcasting: 'recording', message: { i, blob } })
        await new Promise((r) => setImmediate(r))
      }
      assert.equal(node.cable.connections(), 1, 'the stalled socket was cut off')
      assert.equal(await registryMetric(registry, 'ovasabi_cable_disconnects_total', 'reason="behind"'), 1)
      // The socket that reads is not concerned.
      assert.equal(reader.seen.close, undefined)
      await until(
        () => reader.seen.frames.some((f) => f.message?.i !== undefined),
        'the reader got broadcasts',
        WAIT,
      )
      reader.socket.close()
      s.socket.terminate()
    } finally {
      await node.close()
    }
  })
})
