import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { campaignChannel, type RealtimeMessage } from '../../src/realtime/publish.js'
import {
  ADMIN_KEY,
  adminHeaders,
  buildTestApp,
  createCampaign,
  json,
  REDIS_URL,
  type TestContext,
} from '../helper.js'
import { consumer, subscribe, until } from './cable-client.js'
import { account, uniqueLink } from './helpers.js'

const url = (ctx: TestContext) => `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`

describe('two nodes sharing Redis', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  let a: TestContext
  let b: TestContext
  const consumers: Consumer[] = []
  // A second admin: locking a stream's cells needs the right to change it.
  const otherAdminKey = `ovs_test_admin2_${randomBytes(12).toString('hex')}`
  const shared = process.env.DATABASE_URL !== undefined

  before(async () => {
    const env = { JWT_SECRET: randomBytes(32).toString('hex') }
    // With PostgreSQL both nodes share one database (the real deployment); PGlite gives each its own.
    a = await buildTestApp({ redis: true, env, ...(shared ? { dialect: 'postgres' as const } : {}) })
    b = await buildTestApp({ redis: true, env, ...(a.databaseUrl ? { databaseUrl: a.databaseUrl } : {}) })
    for (const node of [a, b]) {
      await node.app.listen({ port: 0, host: '127.0.0.1' })
      await node.app.platform.apiKeys.create({ name: 'admin 2', role: 'admin', key: otherAdminKey })
    }
  })
  after(async () => {
    for (const c of consumers) c.disconnect()
    await b?.close()
    await a?.close()
  })

  it('a change on node A reaches an @rails/actioncable subscriber on node B', async () => {
    const c = consumer(url(b), ADMIN_KEY)
    consumers.push(c)
    const sub = await subscribe(c, 'StreamsChannel')
    const link = uniqueLink()
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/v1/streams',
      headers: adminHeaders,
      payload: { link },
    })
    assert.equal(res.statusCode, 201)
    await until(
      () => sub.received.some((m) => m.action === 'created' && m.stream.link === link),
      'broadcast on B',
    )
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(sub.received.filter((m) => m.stream.link === link).length, 1, 'exactly once')
  })

  it('cell locks are exclusive across nodes and presence is shared', async () => {
    const ca = consumer(url(a), ADMIN_KEY)
    const cb = consumer(url(b), otherAdminKey)
    consumers.push(ca, cb)
    const sa = await subscribe(ca, 'CollaborativeStreamsChannel')
    const sb = await subscribe(cb, 'CollaborativeStreamsChannel')
    await until(
      () => sa.received.some((m) => m.action === 'active_users_list' && m.users.length >= 2),
      'shared presence',
    )
    const created = await a.app.inject({
      method: 'POST',
      url: '/api/v1/streams',
      headers: adminHeaders,
      payload: { link: uniqueLink() },
    })
    const id: number = JSON.parse(created.body).stream.id
    if (!shared) {
      // PGlite gives each node its own database: B needs the same stream to check the lock against.
      const db = (n: TestContext) => n.app.platform.database.db
      const row = await db(a)
        .selectFrom('service_stream_main')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      await db(b)
        .insertInto('service_stream_main')
        .values({ ...row, metadata: JSON.stringify(row.metadata) })
        .execute()
    }
    const cell = `stream_${id}_title`
    sa.subscription.perform('lock_cell', { cell_id: cell })
    await until(
      () => sb.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
      'B sees the lock',
    )
    sb.subscription.perform('lock_cell', { cell_id: cell })
    await until(() => sb.received.some((m) => m.action === 'error'), 'B refused')
    assert.ok(!sa.received.some((m) => m.action === 'error'))
    sa.subscription.perform('unlock_cell', { cell_id: cell })
    await until(() => sb.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === cell), 'unlocked')
    sb.subscription.perform('lock_cell', { cell_id: cell })
    await until(
      () => sa.received.filter((m) => m.action === 'cell_locked' && m.cell_id === cell).length === 2,
      'B locks',
    )
  })

  it('a token cut off on node A closes its /cable socket on node B', {
    skip: !shared && 'needs DATABASE_URL (one shared database)',
  }, async () => {
    const user = await account(a.app, 'default')
    const c = consumer(url(b), user.token)
    consumers.push(c)
    const sub = await subscribe(c, 'StreamsChannel')
    const res = await a.app.inject({
      method: 'POST',
      url: `/api/v1/users/${user.id}/revoke_tokens`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
    // The bus message has B check it at once (cable-recheck.test.ts shows that path alone); the
    // deadline also allows for B's periodic re-check, so nothing here depends on how fast it is.
    await until(() => sub.disconnected, 'the socket on B closed', 60_000)
    assert.equal((await b.app.inject({ url: '/api/v1/streams', headers: user.headers })).statusCode, 401)
  })

  it('counts campaign stream viewers across nodes', {
    skip: !shared && 'needs DATABASE_URL (one shared database)',
  }, async () => {
    const frames: RealtimeMessage[] = []
    const slug = await createCampaign(a.app)
    // the campaign's channel carries what either node publishes for it
    await a.app.platform.bus.subscribe(campaignChannel(slug), (m) => frames.push(m as RealtimeMessage))
    const token = (await a.app.platform.tokens.issueUser({ userId: 'streamer', roles: ['participant'] }))
      .token
    const act = (action: string, data: unknown) =>
      a.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: { action, data },
      })
    const id = json(await act('stream.start', { title: 'Both nodes' })).result.stream_id
    await act('stream.start', { stream_id: id })
    const sock = (n: string) => ({
      connection_id: n,
      campaign: slug,
      user_id: 'guest',
      session_id: n,
      roles: ['guest' as const],
    })
    await a.app.inbound.get('stream_join')!(sock('a1'), { type: 'stream_join', stream_id: id })
    await b.app.inbound.get('stream_join')!(sock('b1'), { type: 'stream_join', stream_id: id })
    await b.app.inbound.get('stream_join')!(sock('b2'), { type: 'stream_join', stream_id: id })
    const latest = () =>
      frames.filter((f) => f.frame.kind === 'viewers' && f.frame.stream_id === id).at(-1)?.frame.viewers
    await until(() => latest() === 3, 'three viewers over two nodes')
    await b.app.inbound.closed(sock('b1'))
    await until(() => latest() === 2, 'two after a close on B')
  })
})

describe('two nodes on one PostgreSQL that miss each other’s bus messages', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  let a: TestContext
  let b: TestContext
  before(async () => {
    // No Redis: each node has its own in-process bus, as a node cut off from Redis would have
    // while the switch is turned. The database is the only thing they share.
    a = await buildTestApp({ dialect: 'postgres' })
    b = await buildTestApp({ databaseUrl: a.databaseUrl })
  })
  after(async () => {
    await b?.close()
    await a?.close()
  })

  it('the maintenance switch still reaches the other node, on and off', async () => {
    const status = async () =>
      (await b.app.inject({ url: '/api/v1/streams', headers: adminHeaders })).statusCode
    /** Polls node B until it answers `code` (a generous deadline only, nothing timed). */
    const untilStatus = async (code: number, what: string) => {
      const deadline = Date.now() + 30_000
      while ((await status()) !== code) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    assert.equal(await status(), 200)
    const on = await a.app.inject({
      method: 'PUT',
      url: '/api/v1/admin/maintenance',
      headers: adminHeaders,
      payload: { enabled: true },
    })
    assert.equal(json(on).maintenance, true)
    await untilStatus(503, 'node B in maintenance')
    await a.app.inject({
      method: 'PUT',
      url: '/api/v1/admin/maintenance',
      headers: adminHeaders,
      payload: { enabled: false },
    })
    await untilStatus(200, 'node B out of maintenance')
  })
})
