// A marketing operator configuring a launch, against the real thing: concurrent edits from two
// admin tabs, broadcast frequency bounds, and campaign changes that must reach every node's
// sockets even when the bus or a node's database fails for a moment.
import assert from 'node:assert/strict'
import { type AddressInfo, connect as tcpConnect, createServer, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { tickRate } from '../src/modules/campaign/campaign.schema.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  REDIS_URL,
  type TestContext,
  uniqueSlug,
} from './helper.js'
import { redisProxy } from './redis-proxy.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'

const mergePatch = (t: TestContext, slug: string, payload: object) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify(payload),
  })

const guestSocket = async (t: TestContext, slug: string): Promise<TestClient> => {
  const { token } = await t.app.platform.tokens.issueGuest()
  return connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${token}`)
}

for (const dialect of DIALECTS) {
  describe(`campaign configuration under load and misuse (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('applies every change of editors who edit at once without a precondition', async () => {
      const slug = uniqueSlug('tabs')
      await createCampaign(t.app, { slug, features: ['analytics'] })
      // Ten tabs, each merging its own key: none named a version, so none is stale.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          mergePatch(t, slug, { metadata: { service_specific: { [`tab${i}`]: i } } }),
        ),
      )
      for (const res of results) assert.equal(res.statusCode, 200, res.body)
      const got = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      )
      assert.deepEqual(
        Object.keys(got.metadata.service_specific).sort(),
        Array.from({ length: 10 }, (_, i) => `tab${i}`).sort(),
      )
      assert.equal(got.version, 11)
      const audit = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}/audit`, headers: adminHeaders }),
      )
      assert.equal(audit.entries.filter((e: any) => e.action === 'update').length, 10)
    })

    it('a save that changes nothing keeps the version, so the other tab’s save still applies', async () => {
      const metadata = {
        features: ['presence', 'analytics'],
        scheduling: { frequency: 5, timezone: 'Europe/Berlin' },
        custom_rules: { max_referrals: 10 },
      }
      const slug = await createCampaign(t.app, { metadata })
      const read = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      )
      // Tab one saves the form untouched (the console sends everything; key order is its own).
      const same = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: {
          title: read.title,
          draft: false,
          metadata: {
            custom_rules: { max_referrals: 10 },
            scheduling: { timezone: 'Europe/Berlin', frequency: 5 },
            features: ['presence', 'analytics'],
          },
          version: read.version,
        },
      })
      assert.equal(same.statusCode, 200, same.body)
      assert.equal(json(same).version, read.version)
      assert.equal(same.headers.etag, `"${read.version}"`)
      const untouched = await mergePatch(t, slug, { metadata: { scheduling: { frequency: 5 } } })
      assert.equal(json(untouched).version, read.version)
      // Tab two, opened at the same version, saves a real change.
      const other = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { title: 'Renamed', version: read.version },
      })
      assert.equal(other.statusCode, 200, other.body)
      assert.equal(json(other).version, read.version + 1)
      const audit = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}/audit`, headers: adminHeaders }),
      )
      assert.deepEqual(
        audit.entries.map((e: any) => e.action),
        ['update', 'create'],
      )
    })

    it('refuses a broadcast frequency outside 0.1–60 Hz, naming it', async () => {
      for (const frequency of [1e-9, 0.05, 60.5]) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug: uniqueSlug(), title: 'Rate', metadata: { scheduling: { frequency } } },
        })
        assert.equal(res.statusCode, 400, `${frequency}: ${res.body}`)
        assert.equal(json(res).error.details[0].path, '/metadata/scheduling/frequency')
      }
      const slug = await createCampaign(t.app, { metadata: { scheduling: { frequency: 0.1 } } })
      const res = await mergePatch(t, slug, { metadata: { scheduling: { frequency: 1e-9 } } })
      assert.equal(res.statusCode, 400, res.body)
      // A row stored before the bound was checked ticks at the bound, not every millisecond.
      assert.equal(tickRate({ metadata: { scheduling: { frequency: 1e-9 } } }), 0.1)
    })

    it('refuses a schedule instant it could not compare (a leap second) instead of ignoring it', async () => {
      for (const [scheduling, path] of [
        [{ start: '2030-12-31T23:59:60Z' }, 'start'],
        [{ start: '2020-01-01T00:00:00Z', end: '2020-06-30T23:59:60Z' }, 'end'],
      ] as const) {
        const slug = uniqueSlug('leap')
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: { slug, title: 'Leap', metadata: { scheduling } },
        })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.details[0].path, `/metadata/scheduling/${path}`)
      }
      // Merged into a stored schedule, the same: the campaign stays scheduled, not live.
      const slug = await createCampaign(t.app, {
        metadata: { scheduling: { start: '2031-01-01T00:00:00Z' } },
      })
      const res = await mergePatch(t, slug, { metadata: { scheduling: { start: '2030-12-31T23:59:60Z' } } })
      assert.equal(res.statusCode, 400, res.body)
      const got = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      )
      assert.equal(got.status, 'scheduled')
    })

    it('archives once when two admins archive at once', async () => {
      const slug = await createCampaign(t.app, { features: ['analytics'] })
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          t.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}`, headers: adminHeaders }),
        ),
      )
      for (const res of results) assert.equal(res.statusCode, 200, res.body)
      const archivedAt = new Set(results.map((r) => json(r).archived_at))
      assert.equal(archivedAt.size, 1, 'every answer names the one archive')
      const audit = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}/audit`, headers: adminHeaders }),
      )
      assert.deepEqual(
        audit.entries.map((e: any) => e.action),
        ['archive', 'create'],
      )
      const got = json(
        await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders }),
      )
      assert.equal(got.version, 2)
      assert.equal(got.archived_at, [...archivedAt][0])
    })
  })
}

/**
 * A TCP proxy on a real port in front of `host:port`: `down()` drops its connections and refuses
 * new ones, as a network between a node and its database fails; `up()` lets them through again.
 */
async function tcpProxy(host: string, port: number) {
  let open = true
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (!open) return void client.destroy()
    const upstream = tcpConnect(port, host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    down() {
      open = false
      for (const s of sockets) s.destroy()
    },
    up() {
      open = true
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('campaign changes reach the sockets whatever the bus does', {
  skip: !REDIS_URL && 'REDIS_URL is not set',
}, () => {
  it('an archive while Redis is unreachable is answered 200 and closes this node’s sockets', async () => {
    const proxy = await redisProxy(REDIS_URL!)
    const t = await buildTestApp({ env: { REDIS_URL: proxy.url } })
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' })
      const slug = await createCampaign(t.app, { features: ['presence', 'analytics'] })
      const visitor = await guestSocket(t, slug)
      proxy.cut()
      const archived = await t.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
      })
      assert.equal(archived.statusCode, 200, archived.body)
      assert.equal(json(archived).status, 'archived')
      const read = await t.app.inject({ method: 'GET', url: `/api/campaign/${slug}`, headers: adminHeaders })
      assert.equal(json(read).status, 'archived', 'the acknowledged change is stored')
      assert.deepEqual(await visitor.untilClosed(20_000), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
    } finally {
      await t.close()
    }
  })

  it('an edit on one node gates the other node’s WebSocket and REST at once', {
    skip: !process.env.DATABASE_URL && 'DATABASE_URL is not set',
  }, async () => {
    const a = await buildTestApp({ dialect: 'postgres', redis: true })
    const b = await buildTestApp({ dialect: 'postgres', redis: true, databaseUrl: a.databaseUrl })
    try {
      await b.app.listen({ port: 0, host: '127.0.0.1' })
      const slug = await createCampaign(a.app, {
        features: ['presence', 'analytics'],
        metadata: { scheduling: { frequency: 10 } },
      })
      const visitor = await guestSocket(b, slug)
      let n = 0
      const track = async () => {
        const request_id = `track_${++n}`
        visitor.send({ type: 'campaign_event', event: 'content.view', payload: {}, request_id })
        return visitor.next((f) => f.type === 'update_ack' && f.request_id === request_id, 20_000)
      }
      assert.equal((await track()).status, 'success')

      const off = await mergePatch(a, slug, { metadata: { features: ['presence'] } })
      assert.equal(off.statusCode, 200, off.body)
      // The PATCH answered once committed; node B hears of it over Redis a moment later.
      let ack = await track()
      for (let i = 0; i < 200 && ack.status === 'success'; i++) ack = await track()
      assert.equal(ack.error.code, 'FEATURE_DISABLED')
      const { token } = await b.app.platform.tokens.issueGuest()
      const rest = await b.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: { action: 'content.view', data: {} },
      })
      assert.equal(rest.statusCode, 403, rest.body)
      assert.equal(json(rest).error.code, 'FEATURE_DISABLED')

      // Ended by an edit on node A: node B's visitor is told and closed.
      const ended = await mergePatch(a, slug, { metadata: { scheduling: { end: '2000-01-01T00:00:00Z' } } })
      assert.equal(ended.statusCode, 200, ended.body)
      assert.deepEqual(await visitor.untilClosed(20_000), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      const error = visitor.frames.find((f) => f.type === 'error')
      assert.deepEqual([error.code, error.details], ['CAMPAIGN_NOT_ACTIVE', { status: 'ended' }])
    } finally {
      await b.close()
      await a.close()
    }
  })

  it('a node whose database is unreachable when a change comes neither crashes nor misses it', {
    skip: !process.env.DATABASE_URL && 'DATABASE_URL is not set',
  }, async () => {
    const rejections: unknown[] = []
    const onRejection = (err: unknown) => rejections.push(err)
    process.on('unhandledRejection', onRejection)
    const a = await buildTestApp({ dialect: 'postgres', redis: true })
    const direct = new URL(a.databaseUrl!)
    const proxy = await tcpProxy(direct.hostname, Number(direct.port || 5432))
    const proxied = new URL(direct)
    proxied.host = `127.0.0.1:${proxy.port}`
    const b = await buildTestApp({ dialect: 'postgres', redis: true, databaseUrl: proxied.toString() })
    try {
      await b.app.listen({ port: 0, host: '127.0.0.1' })
      const slug = await createCampaign(a.app, { features: ['presence', 'analytics'] })
      const visitor = await guestSocket(b, slug)
      const told: string[] = []
      await b.app.platform.bus.subscribe('ovasabi:campaign:changed', (m: any) => told.push(m.slug))

      proxy.down()
      const archived = await a.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
      })
      assert.equal(archived.statusCode, 200, archived.body)
      // Node B got the message while its database was down: its read of the campaign failed.
      for (let i = 0; i < 2000 && !told.includes(slug); i++) await new Promise((r) => setTimeout(r, 10))
      assert.ok(told.includes(slug))
      await assert.rejects(
        b.app.platform.database.db.selectFrom('service_campaign_main').select('id').execute(),
      )
      proxy.up()

      assert.deepEqual(await visitor.untilClosed(20_000), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      assert.deepEqual(rejections, [])
    } finally {
      process.off('unhandledRejection', onRejection)
      await b.close()
      await proxy.close()
      await a.close()
    }
  })
})
