import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { createAccountService } from '../../src/modules/stream/account.service.js'
import { createMaintenance } from '../../src/modules/stream/maintenance.js'
import { createMemoryRateLimiter } from '../../src/modules/stream/ratelimit.js'
import { createStreamService, type StreamService } from '../../src/modules/stream/stream.service.js'
import { v1Plugin } from '../../src/modules/stream/v1.plugin.js'
import { adminHeaders, buildTestApp, DIALECTS, JWT_SECRET, json, type TestContext } from '../helper.js'
import { parseCsv } from '../../src/modules/stream/csv.js'

/** Rows per export page here: the export below takes five pages. */
const PAGE = 2

for (const dialect of DIALECTS) {
  describe(`stream export in pages (${dialect})`, () => {
    let ctx: TestContext
    /** `/api/v1` on the test app's database and services, with a stream service reading `PAGE` rows at a time. */
    let api: FastifyInstance
    let streams: StreamService
    const marker = `exp${randomBytes(4).toString('hex')}`

    before(async () => {
      ctx = await buildTestApp({ dialect })
      const { database, apiKeys, bus } = ctx.app.platform
      const db = database.db
      const accounts = createAccountService({ db, apiKeys, secret: JWT_SECRET })
      streams = createStreamService({ db, bus, accounts, exportPageRows: PAGE })
      api = Fastify()
      await api.register(v1Plugin, {
        prefix: '/api/v1',
        accounts,
        streams,
        limiter: createMemoryRateLimiter(),
        maintenance: createMaintenance({ db, bus, forced: false }),
        config: ctx.config,
      })
      await api.ready()
      // Nine streams: three created in one instant (only the id orders them), two more in the same
      // millisecond but other microseconds (a JS Date cursor would lose them), two pinned.
      const at = (t: string) => sql<Date>`${t}::timestamptz`
      const rows = [
        ['2024-05-01 10:00:00.123456+00', false],
        ['2024-05-01 10:00:00.123456+00', false],
        ['2024-05-01 10:00:00.123456+00', true],
        ['2024-05-01 10:00:00.123457+00', false],
        ['2024-05-01 10:00:00.123455+00', false],
        ['2024-04-01 00:00:00+00', true],
        ['2024-06-01 00:00:00+00', false],
        ['2024-05-01 10:00:00.123456+00', false],
        ['2023-01-01 00:00:00+00', false],
      ] as const
      for (const [i, [time, pinned]] of rows.entries()) {
        const link = `https://twitch.tv/${marker}_${i}`
        await db
          .insertInto('service_stream_main')
          .values({
            link,
            normalized_link: link,
            // Titles out of id order, some equal, so `sort=name` has ties too.
            title: `${marker} ${'cab'[i % 3]}`,
            platform: 'twitch',
            is_pinned: pinned,
            created_at: at(time),
          })
          .execute()
      }
    })
    after(async () => {
      await api?.close()
      await ctx.close()
    })

    /** The ids the list shows for these rows, in its order (one page holds them all). */
    const listed = async (sort?: string) => {
      const res = await ctx.app.inject({
        url: `/api/v1/streams?search=${marker}&per_page=100${sort ? `&sort=${sort}` : ''}`,
        headers: adminHeaders,
      })
      return json(res).streams.map((s: { id: number }) => s.id) as number[]
    }

    it('streams every matching row once, in the list order, as CSV and as JSON', async () => {
      for (const sort of [undefined, 'name', '-name', 'created', '-created']) {
        const expected = await listed(sort)
        assert.equal(expected.length, 9)
        const query = `search=${marker}${sort ? `&sort=${sort}` : ''}`
        const csv = await api.inject({
          url: `/api/v1/streams/export?format=csv&${query}`,
          headers: adminHeaders,
        })
        assert.equal(csv.statusCode, 200, csv.body)
        // Sent as it is read: no length known up front.
        assert.equal(csv.headers['content-length'], undefined)
        const [header, ...lines] = parseCsv(csv.body)
        assert.equal(header![0], 'id')
        assert.deepEqual(
          lines.map((l) => Number(l[0])),
          expected,
          `csv, sort ${sort ?? 'default'}`,
        )

        const out = await api.inject({ url: `/api/v1/streams/export?${query}`, headers: adminHeaders })
        assert.equal(out.headers['content-length'], undefined)
        const body = json(out)
        assert.equal(body.count, 9)
        assert.ok(!Number.isNaN(Date.parse(body.exported_at)))
        assert.deepEqual(
          body.streams.map((s: { id: number }) => s.id),
          expected,
          `json, sort ${sort ?? 'default'}`,
        )
      }
    })

    it('reads a page at a time, never more', async () => {
      const pages: number[] = []
      const ids: number[] = []
      for await (const page of streams.exportPages({ search: marker })) {
        pages.push(page.length)
        ids.push(...page.map((s) => s.id))
      }
      assert.ok(pages.every((n) => n <= PAGE) && pages.length >= 5, JSON.stringify(pages))
      assert.deepEqual(ids, await listed())
    })

    it('an export matching nothing is a header alone, or an empty list', async () => {
      const none = `search=${marker}none`
      const csv = await api.inject({
        url: `/api/v1/streams/export?format=csv&${none}`,
        headers: adminHeaders,
      })
      assert.equal(csv.body.split('\r\n').filter(Boolean).length, 1)
      const out = json(await api.inject({ url: `/api/v1/streams/export?${none}`, headers: adminHeaders }))
      assert.deepEqual([out.streams, out.count], [[], 0])
    })
  })
}
