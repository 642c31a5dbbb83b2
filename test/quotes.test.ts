import assert from 'node:assert/strict'
import { sql } from 'kysely'
import pg from 'pg'
import { after, before, describe, it } from 'node:test'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import { createQuoteService } from '../src/modules/quote/quote.service.js'
import { csvCell } from '../src/modules/quote/quote.csv.js'
import { campaignChannel, REALTIME_CHANNEL, type RealtimeMessage } from '../src/realtime/publish.js'
import {
  adminHeaders,
  buildTestApp,
  onTwoPostgresNodes,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import * as migration011 from '../src/platform/db/migrations/011_quote_events_without_pii.js'
import { racingUncommitted } from './pg-lock-fixtures.js'
import { waitFor } from './wait-for.js'

const lead = (overrides: Record<string, unknown> = {}) => ({
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  company: 'Analytical Engines',
  message: 'We need 40 stands',
  budget: 12000,
  interest: 'stands',
  locale: 'en-GB',
  consent: true,
  metadata: { utm_source: 'newsletter' },
  ...overrides,
})

for (const dialect of DIALECTS) {
  describe(`quotes (${dialect})`, () => {
    let ctx: TestContext
    let guest: { token: string; session_id: string }
    const frames: RealtimeMessage[] = []
    const unsubscribers: Array<() => Promise<void>> = []
    const record = (m: unknown) => frames.push(m as RealtimeMessage)
    // Frames about a campaign go out on that campaign's channel (see realtime/publish.ts).
    const watch = async (slug: string) =>
      unsubscribers.push(await ctx.app.platform.bus.subscribe(campaignChannel(slug), record))

    before(async () => {
      ctx = await buildTestApp({ dialect })
      guest = await guestToken(ctx.app)
      unsubscribers.push(await ctx.app.platform.bus.subscribe(REALTIME_CHANNEL, record))
    })
    after(async () => {
      for (const unsubscribe of unsubscribers) await unsubscribe()
      await ctx.close()
    })

    const submit = (campaign: string, body: Record<string, unknown>, token = guest.token) =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign, ...body },
      })
    const leads = async (campaign: string, query = '') =>
      json(
        await ctx.app.inject({
          method: 'GET',
          url: `/api/campaign/${campaign}/leads${query}`,
          headers: adminHeaders,
        }),
      )

    it('stores a valid lead, records the analytics event and tells admins', async () => {
      const slug = await createCampaign(ctx.app)
      await watch(slug)
      const res = await submit(slug, lead())
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.equal(body.status, 'success')
      assert.match(body.result.lead_id, /^lead_/)
      assert.equal(body.result.updated, false)
      const list = await leads(slug)
      assert.equal(list.total, 1)
      assert.equal(list.leads[0].id, body.result.lead_id)
      assert.equal(list.leads[0].email, 'ada@example.com')
      assert.equal(list.leads[0].budget, '12000')
      assert.equal(list.leads[0].status, 'new')
      assert.deepEqual(list.leads[0].metadata, { utm_source: 'newsletter' })
      const events = await ctx.app.platform.database.db
        .selectFrom('service_analytics_event')
        .select(['event', 'payload'])
        .where('campaign_slug', '=', slug)
        .execute()
      assert.deepEqual(
        events.map((e) => e.event),
        ['quote.submit'],
      )
      // The lead row is the one home of the person's fields; the log keeps the rest.
      const logged = events[0]!.payload as Record<string, unknown>
      for (const f of ['name', 'email', 'phone', 'company', 'message']) {
        assert.ok(!(f in logged) || logged[f] === '[redacted]', `${f} is not in the analytics log`)
      }
      assert.equal(logged.email, '[redacted]')
      assert.equal(logged.budget, 12000)
      const frame = await waitFor(
        () =>
          frames.find(
            (f) =>
              f.frame.event === 'lead.created' && (f.frame.payload as any).lead.id === body.result.lead_id,
          ),
        'lead.created frame',
      )
      assert.deepEqual(frame.audience, { scope: 'role', campaign: slug, role: 'admin' })
      assert.equal(frame.frame.type, 'campaign_event')
    })

    it('answers the submit_quote action through the same service', async () => {
      const slug = await createCampaign(ctx.app)
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { action: 'submit_quote', data: lead({ email: 'grace@example.com' }) },
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal((await leads(slug)).leads[0].email, 'grace@example.com')
    })

    it('refuses bad fields one by one, on both routes', async () => {
      const slug = await createCampaign(ctx.app)
      const res = await submit(slug, { email: 'not-an-email', phone: 'call me', extra: 1 })
      assert.equal(res.statusCode, 400)
      const err = json(res).error
      assert.equal(err.code, 'VALIDATION_FAILED')
      const fields = Object.fromEntries(err.details.map((d: any) => [d.field, d.message]))
      assert.match(fields.name, /name is required/)
      assert.match(fields.email, /valid email/)
      assert.match(fields.phone, /digits/)
      assert.match(fields.extra, /not a field/)
      // A field of the wrong type is named as such, not as missing.
      const wrongType = json(await submit(slug, { name: { first: 'Ada' }, email: 'ada@example.com' })).error
      assert.deepEqual(
        wrongType.details.map((d: any) => [d.field, d.message]),
        [['name', 'name must be one line of 1 to 200 characters, without control characters']],
      )
      // Control characters (an ESC sequence that would recolour a terminal, a line break in a name)
      // and a domain without a dot are refused; a message keeps its line breaks and tabs.
      const controls = json(
        await submit(slug, {
          name: 'Ada\u001b[31m',
          email: 'ada@localhost',
          company: 'Engines\nLtd',
          interest: 'x\u0085',
          message: 'ok\u0007',
        }),
      ).error
      assert.deepEqual(controls.details.map((d: any) => d.field).sort(), [
        'company',
        'email',
        'interest',
        'message',
        'name',
      ])
      const multiline = await submit(
        await createCampaign(ctx.app),
        lead({ email: 'lines@example.com', message: 'Line one\n\tLine two\r\n' }),
      )
      assert.equal(multiline.statusCode, 200, multiline.body)

      const viaAction = await ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { action: 'quote.submit', data: { name: 'A', email: 'nope' } },
      })
      assert.equal(viaAction.statusCode, 400)
      assert.deepEqual(
        json(viaAction).error.details.map((d: any) => d.field),
        ['email'],
      )
      const noCampaign = await ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: lead(),
      })
      assert.equal(noCampaign.statusCode, 400)
      assert.equal(json(noCampaign).error.details[0].field, 'campaign')
      assert.equal((await leads(slug)).total, 0)
    })

    it('answers a filled honeypot like a success and stores nothing', async () => {
      const slug = await createCampaign(ctx.app)
      const res = await submit(slug, lead({ website: 'http://spam.example' }))
      assert.equal(res.statusCode, 200)
      assert.match(json(res).result.lead_id, /^lead_/)
      assert.equal((await leads(slug)).total, 0)
      const outbox = await ctx.app.platform.database.db
        .selectFrom('service_notification_outbox')
        .select('id')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(outbox.length, 0)
    })

    it('counts leads once each in the campaign stats: not resubmissions, not honeypot fakes', async () => {
      const slug = await createCampaign(ctx.app)
      // Concurrent, so several share a commit batch; one email twice (a merge), one spam bot.
      const results = await Promise.all([
        submit(slug, lead({ email: 'one@example.com' })),
        submit(slug, lead({ email: 'two@example.com' })),
        submit(slug, lead({ email: 'three@example.com' })),
        submit(slug, lead({ email: 'one@example.com' })),
        submit(slug, lead({ email: 'bot@example.com', website: 'http://spam.example' })),
      ])
      for (const r of results) assert.equal(r.statusCode, 200, r.body)
      await submit(slug, lead({ email: 'two@example.com' }))
      const stats = json(
        await ctx.app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
      )
      assert.equal(stats.counters.leads, 3)
      assert.equal((await leads(slug)).total, 3)
      assert.equal(stats.events['quote.submit'], 6, 'every submission is still an event')
    })

    it('rate-limits per IP with 429 and Retry-After', async () => {
      const slug = await createCampaign(ctx.app, {
        metadata: { custom_rules: { quote_rate_limit: { max: 2, window_seconds: 120 } } },
      })
      for (let i = 0; i < 2; i++) {
        assert.equal((await submit(slug, lead({ email: `p${i}@example.com` }))).statusCode, 200)
      }
      const limited = await submit(slug, lead({ email: 'p3@example.com' }))
      assert.equal(limited.statusCode, 429)
      assert.equal(json(limited).error.code, 'RATE_LIMITED')
      const retry = Number(limited.headers['retry-after'])
      assert.ok(retry >= 1 && retry <= 120, `retry-after ${retry}`)
      // Another address is not affected.
      const other = await ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        remoteAddress: '203.0.113.9',
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { campaign: slug, ...lead({ email: 'p4@example.com' }) },
      })
      assert.equal(other.statusCode, 200, other.body)
      assert.equal((await leads(slug)).total, 3)
    })

    it('counts an IPv6 client by its /64, and an IPv4-mapped address as that IPv4 address', async () => {
      const slug = await createCampaign(ctx.app, {
        metadata: { custom_rules: { quote_rate_limit: { max: 2, window_seconds: 600 } } },
      })
      const from = (ip: string, i: string) =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${guest.token}`, 'x-forwarded-for': ip },
          payload: { campaign: slug, ...lead({ email: `net_${i}@example.com` }) },
        })
      // Each from another address of one /64, as its holder may send them.
      const statuses = []
      for (const [i, ip] of ['2001:db8:51:1::1', '2001:db8:51:1::2', '2001:db8:51:1:ffff::3'].entries())
        statuses.push((await from(ip, `a${i}`)).statusCode)
      assert.deepEqual(statuses, [200, 200, 429])
      assert.equal((await from('2001:db8:51:2::1', 'b')).statusCode, 200, 'another /64 is another client')

      const mapped = []
      for (const [i, ip] of ['198.51.100.61', '::ffff:198.51.100.61', '198.51.100.61'].entries())
        mapped.push((await from(ip, `c${i}`)).statusCode)
      assert.deepEqual(mapped, [200, 200, 429])
    })

    it('refuses disposable email domains only when the campaign says so', async () => {
      const strict = await createCampaign(ctx.app, {
        metadata: { custom_rules: { block_disposable_emails: true } },
      })
      const refused = await submit(strict, lead({ email: 'bot@mailinator.com' }))
      assert.equal(refused.statusCode, 422)
      assert.equal(json(refused).error.code, 'DISPOSABLE_EMAIL')
      assert.equal(json(refused).error.details[0].field, 'email')
      assert.equal((await submit(strict, lead({ email: 'real@example.com' }))).statusCode, 200)
      const lax = await createCampaign(ctx.app)
      assert.equal((await submit(lax, lead({ email: 'bot@mailinator.com' }))).statusCode, 200)
    })

    it('updates the same email’s lead within 24 h instead of duplicating it', async () => {
      const slug = await createCampaign(ctx.app)
      const first = json(await submit(slug, lead({ email: 'Dup@Example.com', company: 'First' })))
      const resubmit = () =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${guest.token}`, 'idempotency-key': 'dup-second' },
          payload: {
            campaign: slug,
            ...lead({ email: ' dup@example.com ', company: 'Second', metadata: { b: 1 } }),
          },
        })
      const second = json(await resubmit())
      assert.equal(second.result.lead_id, first.result.lead_id)
      assert.equal(second.result.updated, true)
      // A retry of that request gets the same answer (the one its commit decided), and no write.
      const retried = await resubmit()
      assert.equal(retried.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(retried).result, second.result)
      await submit(slug, lead({ email: 'someone-else@example.com' }))
      const list = await leads(slug, '?email=dup@example.com')
      assert.equal(list.total, 1)
      assert.equal(list.leads[0].company, 'Second')
      assert.equal(list.leads[0].submissions, 2)
      assert.deepEqual(list.leads[0].metadata, { utm_source: 'newsletter', b: 1 })
      assert.equal((await leads(slug)).total, 2)
      // Older than 24 h: a new lead.
      await ctx.app.platform.database.db
        .updateTable('service_quote_main')
        .set({ created_at: new Date(Date.now() - 25 * 3600_000) } as any)
        .where('id', '=', first.result.lead_id)
        .execute()
      const third = json(await submit(slug, lead({ email: 'dup@example.com' })))
      assert.notEqual(third.result.lead_id, first.result.lead_id)
      assert.equal((await leads(slug, '?email=dup@example.com')).total, 2)
    })

    it('does not let someone else with the same email rewrite that lead or learn of it', async () => {
      const slug = await createCampaign(ctx.app)
      const victim = json(await submit(slug, lead({ email: 'victim@example.com', name: 'Victim' })))
      const impostor = await guestToken(ctx.app)
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${impostor.token}` },
        payload: {
          campaign: slug,
          ...lead({ email: 'victim@example.com', name: 'Impostor', phone: '+1 555 0100' }),
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      // Answered as any new lead: nothing says the address asked for a quote today.
      assert.equal(json(res).result.updated, false)
      assert.notEqual(json(res).result.lead_id, victim.result.lead_id)
      const list = await leads(slug, '?email=victim@example.com')
      assert.equal(list.total, 2)
      const original = list.leads.find((l: any) => l.id === victim.result.lead_id)
      assert.equal(original.name, 'Victim')
      assert.equal(original.phone, null)
      assert.equal(original.submissions, 1)
      const row = await ctx.app.platform.database.db
        .selectFrom('service_quote_main')
        .select(['session_id'])
        .where('id', '=', victim.result.lead_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.session_id, guest.session_id)
    })

    it('merges concurrent submissions of one email committed together into one lead', async () => {
      const slug = await createCampaign(ctx.app)
      // Submitted at once, they share commit batches: the lead writes of a batch run together.
      const results = await Promise.all([
        ...[1, 2, 3, 4].map((n) =>
          submit(slug, lead({ email: 'burst@example.com', metadata: { [`k${n}`]: n } })),
        ),
        ...[1, 2, 3, 4].map((n) => submit(slug, lead({ email: `burst${n}@example.com` }))),
      ])
      for (const res of results) assert.equal(res.statusCode, 200, res.body)
      const burst = await leads(slug, '?email=burst@example.com')
      assert.equal(burst.total, 1)
      assert.equal(burst.leads[0].submissions, 4)
      assert.deepEqual(burst.leads[0].metadata, { k1: 1, k2: 2, k3: 3, k4: 4 })
      assert.equal((await leads(slug)).total, 5)
    })

    it('moves leads through the lifecycle and notifies submitter and admins', async () => {
      const slug = await createCampaign(ctx.app)
      await watch(slug)
      const id = json(await submit(slug, lead({ email: 'life@example.com' }))).result.lead_id
      const patch = (status: string, headers: Record<string, string> = adminHeaders) =>
        ctx.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/leads/${id}`,
          headers,
          payload: { status },
        })

      const skip = await patch('won')
      assert.equal(skip.statusCode, 409)
      assert.equal(json(skip).error.code, 'INVALID_TRANSITION')
      assert.equal((await patch('contacted', { authorization: `Bearer ${guest.token}` })).statusCode, 403)

      const contacted = await patch('contacted')
      assert.equal(contacted.statusCode, 200, contacted.body)
      assert.equal(json(contacted).status, 'contacted')
      const note = await waitFor(
        () => frames.find((f) => f.frame.type === 'notification' && f.frame.lead_id === id),
        'submitter notification',
      )
      assert.deepEqual(note.audience, { scope: 'session', campaign: slug, session_id: guest.session_id })
      assert.equal(note.frame.status, 'contacted')
      assert.match(String(note.frame.message), /being processed/)
      const updated = await waitFor(
        () => frames.find((f) => f.frame.event === 'lead.updated' && (f.frame.payload as any).lead.id === id),
        'lead.updated frame',
      )
      assert.equal((updated.frame.payload as any).change.to, 'contacted')

      assert.equal((await patch('qualified')).statusCode, 200)
      assert.equal((await patch('won')).statusCode, 200)
      assert.equal((await patch('lost')).statusCode, 409)
      assert.equal((await leads(slug, '?status=won')).total, 1)
      assert.equal((await leads(slug, '?status=new')).total, 0)
      const missing = await ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/leads/lead_nope`,
        headers: adminHeaders,
        payload: { status: 'contacted' },
      })
      assert.equal(missing.statusCode, 404)
    })

    it('lists with filters and pages', async () => {
      const slug = await createCampaign(ctx.app)
      for (const [i, company] of ['Acme', 'Globex', 'Acme Two'].entries()) {
        await submit(slug, lead({ email: `page${i}@example.com`, company }))
      }
      const page1 = await leads(slug, '?per_page=2&page=1')
      const page2 = await leads(slug, '?per_page=2&page=2')
      assert.equal(page1.total, 3)
      assert.equal(page1.leads.length, 2)
      assert.equal(page2.leads.length, 1)
      const ids = new Set([...page1.leads, ...page2.leads].map((l: any) => l.id))
      assert.equal(ids.size, 3)
      assert.equal((await leads(slug, '?q=acme')).total, 2)
      const guestList = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads`,
        headers: { authorization: `Bearer ${guest.token}` },
      })
      assert.equal(guestList.statusCode, 403)
    })

    it('exports CSV with formula-like cells neutralised', async () => {
      const slug = await createCampaign(ctx.app)
      await submit(
        slug,
        lead({
          email: 'csv@example.com',
          name: '=HYPERLINK("http://evil")',
          company: '+cmd',
          interest: '@SUM(A1)',
          message: 'line one\nline, two',
          budget: '-5',
        }),
      )
      const res = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads.csv`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200)
      assert.match(String(res.headers['content-type']), /^text\/csv/)
      const [header, row] = res.body.split('\r\n')
      assert.match(header!, /^id,created_at,updated_at,status,name,email/)
      assert.ok(row!.includes(`"'=HYPERLINK(""http://evil"")"`), row)
      assert.ok(row!.includes(",'+cmd,"), row)
      assert.ok(row!.includes(",'@SUM(A1),"), row)
      assert.ok(row!.includes(",'-5,"), row)
      assert.ok(res.body.includes('"line one\nline, two"'))
      assert.equal(csvCell('\tx'), "'\tx")
      assert.equal(csvCell('\rx'), `"'\rx"`)
      assert.equal(csvCell('plain'), 'plain')
    })

    it('answers an absurd page number with 400, not a 500', async () => {
      const slug = await createCampaign(ctx.app)
      const res = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads?page=99999999999999999999`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 400, res.body)
      assert.equal(json(res).error.code, 'VALIDATION_FAILED')
    })

    it('bounds metadata: a large object is refused, and resubmissions never grow it past the limits', async () => {
      const slug = await createCampaign(ctx.app)
      const big = await submit(
        slug,
        lead({ email: 'big@example.com', metadata: { blob: 'x'.repeat(20_000) } }),
      )
      assert.equal(big.statusCode, 400, big.body)
      assert.deepEqual(
        json(big).error.details.map((d: any) => d.field),
        ['metadata'],
      )
      const keys = (prefix: string) =>
        Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${prefix}${i}`, i]))
      // Each submission is within the form's 50 keys; merged, the second would make 80.
      assert.equal(
        (await submit(slug, lead({ email: 'grow@example.com', metadata: keys('a') }))).statusCode,
        200,
      )
      const again = await submit(slug, lead({ email: 'grow@example.com', metadata: keys('b') }))
      assert.equal(json(again).result.updated, true)
      let row = (await leads(slug, '?email=grow@example.com')).leads[0]
      assert.deepEqual(row.metadata, keys('b'), 'the newest metadata, not 80 keys')
      // Each 10 KB, within the limit; merged, 20 KB would not be.
      const blob = (k: string) => ({ [k]: k.repeat(10_000) })
      assert.equal(
        (await submit(slug, lead({ email: 'wide@example.com', metadata: blob('p') }))).statusCode,
        200,
      )
      assert.equal(
        (await submit(slug, lead({ email: 'wide@example.com', metadata: blob('q') }))).statusCode,
        200,
      )
      row = (await leads(slug, '?email=wide@example.com')).leads[0]
      assert.equal(row.submissions, 2)
      assert.deepEqual(row.metadata, blob('q'))
      // Small additions still merge.
      await submit(slug, lead({ email: 'wide@example.com', metadata: { utm_campaign: 'spring' } }))
      row = (await leads(slug, '?email=wide@example.com')).leads[0]
      assert.deepEqual(row.metadata, { ...blob('q'), utm_campaign: 'spring' })
    })

    it('streams the CSV export of every lead, however many, newest first', async () => {
      const slug = await createCampaign(ctx.app)
      const n = 100_003
      // Groups of three share a creation time; neighbouring groups are a microsecond apart.
      await sql`
        insert into service_quote_main (id, campaign_slug, name, email, user_id, session_id, created_at)
        select 'lead_bulk_' || lpad(g::text, 7, '0'), ${slug}, 'Bulk ' || g, 'bulk' || g || '@example.com',
          'guest', 'sess_bulk', timestamptz '2025-01-01 00:00:00+00' + (g / 3) * interval '1 microsecond'
        from generate_series(1, ${n}::int) g
      `.execute(ctx.app.platform.database.db)
      const res = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads.csv`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200)
      assert.equal(res.headers['transfer-encoding'], 'chunked', 'sent as it is read, not built whole')
      const lines = res.body.split('\r\n')
      assert.match(lines[0]!, /^id,created_at,/)
      assert.equal(lines.at(-1), '', 'ends with CRLF')
      const ids = lines.slice(1, -1).map((l) => l.slice(0, l.indexOf(',')))
      assert.equal(ids.length, n, 'every lead, none cut off')
      const expected = Array.from({ length: n }, (_, i) => n - i)
        .sort((a, b) => Math.floor(b / 3) - Math.floor(a / 3) || b - a)
        .map((g) => `lead_bulk_${String(g).padStart(7, '0')}`)
      assert.deepEqual(ids, expected, 'created_at desc, id desc, no row twice')
      const filtered = await ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/leads.csv?q=bulk7777@`,
        headers: adminHeaders,
      })
      assert.equal(filtered.body.split('\r\n').length, 3)
    })

    it('lets an admin erase one lead: personal fields gone everywhere, row and counters kept', async () => {
      const slug = await createCampaign(ctx.app)
      await watch(slug)
      const email = `erase.${Date.now()}@example.com`
      const id = json(await submit(slug, lead({ email, name: 'Grace Brewster', phone: '+1 555 0100' })))
        .result.lead_id
      const erase = (headers: Record<string, string> = adminHeaders, leadId = id) =>
        ctx.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}/leads/${leadId}`, headers })
      assert.equal((await erase({ authorization: `Bearer ${guest.token}` })).statusCode, 403)
      const res = await erase()
      assert.equal(res.statusCode, 200, res.body)
      const view = json(res)
      assert.deepEqual(
        [view.id, view.erased, view.email, view.name, view.phone, view.message],
        [id, true, null, null, null, null],
      )
      const frame = await waitFor(
        () =>
          frames.find(
            (f) => f.frame.event === 'lead.updated' && (f.frame.payload as any).reason === 'erased',
          ),
        'lead.updated (erased) to admins',
      )
      assert.equal((frame.frame.payload as any).lead.email, null)
      // Nothing in the database still names the person.
      const db = ctx.app.platform.database.db
      const events = await db
        .selectFrom('service_analytics_event')
        .select('payload')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(JSON.stringify(events).includes('Brewster'), false)
      const stored = await db
        .selectFrom('service_quote_main')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.equal(
        JSON.stringify(stored).includes('Brewster') || JSON.stringify(stored).includes(email),
        false,
      )
      assert.equal((await leads(slug)).total, 1, 'the row stays')
      // Again: nothing changes, the first erasure time stays.
      assert.deepEqual(json(await erase()), view)
      assert.equal((await erase(adminHeaders, 'lead_01HZZZZZZZZZZZZZZZZZZZZZZZ')).statusCode, 404)
    })

    it('migration 011 scrubs the personal fields of quote events logged before it', async () => {
      const db = ctx.app.platform.database.db
      const slug = await createCampaign(ctx.app)
      const row = (event: string, payload: object) => ({
        event_id: `legacy_${event}_${Math.random().toString(36).slice(2)}`,
        campaign_slug: slug,
        event,
        user_id: 'guest',
        session_id: 'sess_legacy',
        payload: JSON.stringify(payload),
        metadata: JSON.stringify({}),
        timestamp: new Date(),
        received_at: new Date(),
      })
      await db
        .insertInto('service_analytics_event')
        .values([
          row('submit_quote', { name: 'Old Lead', email: 'old@example.com', budget: 5, metadata: { a: 1 } }),
          row('quote.submit', { email: 'older@example.com', interest: 'x' }),
          row('content.create', { email: 'not-a-lead@example.com' }),
        ])
        .execute()
      await migration011.up(db)
      const after = await db
        .selectFrom('service_analytics_event')
        .select(['event', 'payload'])
        .where('campaign_slug', '=', slug)
        .orderBy('id')
        .execute()
      assert.deepEqual(
        after.map((e) => e.payload),
        [
          { name: '[redacted]', email: '[redacted]', budget: 5, metadata: { a: 1 } },
          { email: '[redacted]', interest: 'x' },
          { email: 'not-a-lead@example.com' },
        ],
      )
    })

    it('erases leads by email and by user, keeping the rows', async () => {
      const slug = await createCampaign(ctx.app)
      const id = json(await submit(slug, lead({ email: 'forget@example.com' }))).result.lead_id
      const quotes = createQuoteService({
        db: ctx.app.platform.database.db,
        limiter: createRateLimiter(),
        publisher: { publish: async () => {} },
        webhooks: {
          enqueue: async () => [],
          deliver: () => {},
          scrubSubjects: async () => {},
          nudge: () => {},
        },
      })
      assert.equal(await quotes.eraseByEmail('Forget@Example.com'), 1)
      const row = (await leads(slug)).leads.find((l: any) => l.id === id)
      assert.equal(row.erased, true)
      assert.equal(row.email, null)
      assert.equal(row.name, null)
      assert.equal((await leads(slug)).total, 1)
      const { token } = await ctx.app.platform.tokens.issueUser({
        userId: 'user_erase_me',
        roles: ['participant'],
      })
      await submit(slug, lead({ email: 'user@example.com' }), token)
      assert.equal(await quotes.eraseByUser('user_erase_me'), 1)
      assert.equal((await leads(slug, '?email=user@example.com')).total, 0)
    })
  })
}

describe('one email submitted on two nodes of one PostgreSQL at once', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('makes one lead that counts every submission', () =>
    onTwoPostgresNodes(async (first, second) => {
      const slug = await createCampaign(first.app, {
        metadata: { features: ['quote'], custom_rules: { quote_rate_limit: { max: 1000 } } },
      })
      const { token } = await guestToken(first.app)
      const n = 40
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          (i % 2 ? second : first).app.inject({
            method: 'POST',
            url: '/api/quote',
            headers: { authorization: `Bearer ${token}` },
            payload: { campaign: slug, ...lead({ email: 'race@example.com', metadata: { [`k${i}`]: i } }) },
          }),
        ),
      )
      for (const res of results) assert.equal(res.statusCode, 200, res.body)
      const db = first.app.platform.database.db
      const rows = await db
        .selectFrom('service_quote_main')
        .selectAll()
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(rows.length, 1, 'one lead')
      assert.equal(rows[0]!.submissions, n)
      assert.equal(Object.keys(rows[0]!.metadata as object).length, n, 'every submission merged')
      const stats = json(
        await first.app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
      )
      assert.equal(stats.counters.leads, 1)
    }))
})

describe('a lead erased while a resubmission of its email commits (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('starts a new lead and leaves the erased one empty', async () => {
    const node = await buildTestApp({ dialect: 'postgres' })
    const eraser = new pg.Client({ connectionString: node.databaseUrl })
    await eraser.connect()
    try {
      const slug = await createCampaign(node.app)
      const { token } = await guestToken(node.app)
      const submit = (name: string, key = `k_${name.replaceAll(' ', '_')}`) =>
        node.app.inject({
          method: 'POST',
          url: '/api/quote',
          headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
          payload: { campaign: slug, ...lead({ email: 'erased.race@example.com', name }) },
        })
      const first = json(await submit('Before Erasure')).result.lead_id
      // An erasure in progress: the lead's row is locked, its clearing not yet committed, so the
      // resubmission's commit still finds the lead open when it looks it up.
      const res = await racingUncommitted(
        eraser,
        `update service_quote_main set name = null, email = null, company = null, phone = null,
           message = null, metadata = '{}', erased_at = now() where id = $1`,
        [first],
        () => submit('After Erasure'),
        'the resubmission waiting on the erased row',
      )
      assert.equal(res.statusCode, 200, res.body)
      const rows = await node.app.platform.database.db
        .selectFrom('service_quote_main')
        .selectAll()
        .where('campaign_slug', '=', slug)
        .orderBy('created_at')
        .execute()
      assert.equal(rows.length, 2, 'a new lead')
      assert.deepEqual(
        [rows[0]!.id, rows[0]!.name, rows[0]!.message, rows[0]!.erased_at !== null],
        [first, null, null, true],
        'nothing written back into the erased lead',
      )
      assert.deepEqual(
        [rows[1]!.name, rows[1]!.email, rows[1]!.submissions],
        ['After Erasure', 'erased.race@example.com', 1],
      )

      // The answer names the lead the commit wrote, not the one it found first; so does the stored
      // copy a retry of the same request gets.
      const answer = json(res).result
      assert.deepEqual(answer, { lead_id: rows[1]!.id, status: 'new', updated: false })
      const again = await submit('After Erasure')
      assert.equal(again.headers['idempotent-replayed'], 'true')
      assert.deepEqual(json(again).result, answer)
    } finally {
      await eraser.end()
      await node.close()
    }
  })
})
