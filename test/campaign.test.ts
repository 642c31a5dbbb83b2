import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { campaignStatus } from '../src/modules/campaign/campaign.schema.js'
import {
  adminHeaders,
  buildTestApp,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
  uniqueSlug,
} from './helper.js'

describe('campaignStatus (derived in UTC at request time)', () => {
  const at = (iso: string) => new Date(iso)
  const c = (scheduling: object, extra: object = {}) => ({
    draft: false,
    archived_at: null,
    metadata: { scheduling },
    ...extra,
  })
  it('derives draft, scheduled, active, ended and archived', () => {
    const s = { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' }
    assert.equal(campaignStatus(c(s), at('2025-12-31T23:59:59Z')), 'scheduled')
    assert.equal(campaignStatus(c(s), at('2026-01-01T00:00:00Z')), 'active')
    assert.equal(campaignStatus(c(s), at('2026-02-01T00:00:00Z')), 'ended')
    assert.equal(campaignStatus(c({}), at('2030-01-01T00:00:00Z')), 'active')
    assert.equal(campaignStatus(c(s, { draft: true }), at('2026-01-15T00:00:00Z')), 'draft')
    assert.equal(campaignStatus(c(s, { archived_at: new Date() }), at('2026-01-15T00:00:00Z')), 'archived')
  })
  it('compares instants, whatever offset the schedule was written in', () => {
    const s = { start: '2026-01-01T10:00:00+02:00' } // 08:00 UTC
    assert.equal(campaignStatus(c(s), at('2026-01-01T07:59:00Z')), 'scheduled')
    assert.equal(campaignStatus(c(s), at('2026-01-01T08:00:00Z')), 'active')
  })
})

for (const dialect of DIALECTS) {
  describe(`campaign management (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: adminHeaders, payload })

    it('creates, reads, updates, archives and lists with an audit trail', async () => {
      const slug = uniqueSlug('spring')
      const created = await api('POST', '/api/campaign', {
        slug,
        title: 'Spring sale',
        metadata: {
          scheduling: { start: '2025-01-01T00:00:00Z', frequency: 5, timezone: 'Europe/Berlin' },
          features: ['presence', 'analytics'],
          custom_rules: { max_referrals: 10 },
          audit: {},
          tags: ['spring'],
          service_specific: { content: { editor_mode: 'richtext' } },
          knowledge_graph: {},
          versioning: { schema: 1 },
        },
      })
      assert.equal(created.statusCode, 201, created.body)
      const c = json(created)
      assert.equal(c.status, 'active')
      assert.equal(c.version, 1)
      assert.equal(c.metadata.scheduling.frequency, 5)

      const dup = await api('POST', '/api/campaign', { slug, title: 'again' })
      assert.equal(dup.statusCode, 409)
      assert.equal(json(dup).error.code, 'CAMPAIGN_EXISTS')

      const patched = await api('PATCH', `/api/campaign/${slug}`, {
        title: 'Spring sale 2025',
        metadata: { ...c.metadata, features: ['presence', 'analytics', 'quote'] },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(json(patched).version, 2)
      assert.deepEqual(json(patched).metadata.features, ['presence', 'analytics', 'quote'])

      const stale = await api('PATCH', `/api/campaign/${slug}`, { title: 'x', version: 1 })
      assert.equal(stale.statusCode, 409)
      assert.equal(json(stale).error.code, 'VERSION_CONFLICT')

      const archived = await api('DELETE', `/api/campaign/${slug}`)
      assert.equal(json(archived).status, 'archived')

      const listed = json(await api('GET', '/api/campaign?tag=spring'))
      assert.equal(listed.campaigns.length, 0, 'archived campaigns are hidden by default')
      const all = json(await api('GET', '/api/campaign?tag=spring&include_archived=true'))
      assert.deepEqual(
        all.campaigns.map((x: any) => x.slug),
        [slug],
      )

      const audit = json(await api('GET', `/api/campaign/${slug}/audit`)).entries
      assert.deepEqual(
        audit.map((e: any) => e.action),
        ['archive', 'update', 'create'],
      )
      const update = audit[1]
      assert.equal(update.actor.startsWith('apikey:'), true)
      assert.deepEqual(update.changes.title, { from: 'Spring sale', to: 'Spring sale 2025' })
      assert.deepEqual(update.changes['metadata.features'].to, ['presence', 'analytics', 'quote'])
    })

    it('validates the metadata pattern with the failing paths', async () => {
      const bad = await api('POST', '/api/campaign', {
        slug: uniqueSlug(),
        title: 'Bad',
        metadata: {
          scheduling: { frequency: 500, start: 'tomorrow' },
          features: ['teleport'],
          tags: 'x',
          colour: 'red',
        },
      })
      assert.equal(bad.statusCode, 400)
      const body = json(bad)
      assert.equal(body.error.code, 'VALIDATION_FAILED')
      const paths = body.error.details.map((d: any) => d.path).join(' ')
      for (const p of ['scheduling/frequency', 'scheduling/start', 'features/0', 'tags'])
        assert.match(paths, new RegExp(p))
    })

    it('refuses a schedule that ends before it starts, on create and on update', async () => {
      const swapped = { start: '2027-03-01T00:00:00Z', end: '2027-02-01T00:00:00+01:00' }
      const slug = uniqueSlug()
      const created = await api('POST', '/api/campaign', {
        slug,
        title: 'Swapped',
        metadata: { scheduling: swapped },
      })
      assert.equal(created.statusCode, 400, created.body)
      assert.equal(json(created).error.details[0].path, '/metadata/scheduling/end')
      assert.equal((await api('GET', `/api/campaign/${slug}`)).statusCode, 404)

      const ok = await api('POST', '/api/campaign', {
        slug,
        title: 'Fine',
        metadata: { scheduling: { start: swapped.start } },
      })
      assert.equal(ok.statusCode, 201, ok.body)
      const patched = await api('PATCH', `/api/campaign/${slug}`, { metadata: { scheduling: swapped } })
      assert.equal(patched.statusCode, 400, patched.body)
      assert.deepEqual(json(await api('GET', `/api/campaign/${slug}`)).metadata.scheduling, {
        start: swapped.start,
      })
    })

    const mergePatch = (slug: string, payload: object, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json', ...headers },
        payload: JSON.stringify(payload),
      })

    it('merges metadata with application/merge-patch+json (RFC 7396), validating the result', async () => {
      const slug = uniqueSlug('merge')
      const metadata = {
        scheduling: { start: '2026-01-01T00:00:00Z', frequency: 5 },
        features: ['presence', 'quote'],
        custom_rules: { max_referrals: 10, block_disposable_emails: true },
        tags: ['launch'],
      }
      assert.equal((await api('POST', '/api/campaign', { slug, title: 'Merge', metadata })).statusCode, 201)

      const merged = await mergePatch(slug, {
        title: 'Merged',
        metadata: { custom_rules: { max_referrals: 20, block_disposable_emails: null }, tags: ['a', 'b'] },
      })
      assert.equal(merged.statusCode, 200, merged.body)
      const m = json(merged).metadata
      assert.deepEqual(m.scheduling, metadata.scheduling, 'keys the patch does not name stay')
      assert.deepEqual(m.features, metadata.features)
      assert.deepEqual(m.custom_rules, { max_referrals: 20 }, 'nested keys merge, null removes one')
      assert.deepEqual(m.tags, ['a', 'b'], 'arrays are replaced')
      assert.equal(json(merged).title, 'Merged')

      // The merged result is what is validated: a bad value or an unknown key is a 400 naming its
      // path, and nothing changes.
      for (const bad of [{ scheduling: { frequency: 500 } }, { colour: 'red' }, { features: ['teleport'] }]) {
        const res = await mergePatch(slug, { metadata: bad })
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.match(json(res).error.details[0].path, /^\/metadata/)
      }
      const swapped = await mergePatch(slug, { metadata: { scheduling: { end: '2025-06-01T00:00:00Z' } } })
      assert.equal(swapped.statusCode, 400, 'the merged schedule ends before it starts')
      const now = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(now.version, 2)
      assert.deepEqual(now.metadata, m)

      const cleared = await mergePatch(slug, { metadata: null })
      assert.equal(cleared.statusCode, 200, cleared.body)
      assert.deepEqual(json(cleared).metadata, {})
      assert.equal((await mergePatch(slug, {})).statusCode, 400, 'an empty patch changes nothing and says so')
    })

    it('sends the version as an ETag and refuses a stale If-Match with 412', async () => {
      const slug = uniqueSlug('etag')
      assert.equal((await api('POST', '/api/campaign', { slug, title: 'ETag' })).statusCode, 201)
      const read = await api('GET', `/api/campaign/${slug}`)
      assert.equal(read.headers.etag, '"1"')

      const first = await mergePatch(slug, { title: 'one' }, { 'if-match': read.headers.etag as string })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(first.headers.etag, '"2"')
      const lost = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'if-match': '"1"' },
        payload: { title: 'two' },
      })
      assert.equal(lost.statusCode, 412, lost.body)
      assert.equal(json(lost).error.code, 'PRECONDITION_FAILED')
      assert.equal(
        json(await api('GET', `/api/campaign/${slug}`)).title,
        'one',
        'the stale write changed nothing',
      )

      assert.equal((await mergePatch(slug, { title: 'any' }, { 'if-match': '*' })).statusCode, 200)
      // RFC 9110: a well-formed tag that names no version (weak, `"0"`) fails the precondition.
      for (const stale of ['W/"3"', '"0"', '"1", "2"']) {
        const res = await mergePatch(slug, { title: 'x' }, { 'if-match': stale })
        assert.equal(res.statusCode, 412, `${stale}: ${res.body}`)
      }
      assert.equal((await mergePatch(slug, { title: 'listed' }, { 'if-match': '"3", "4"' })).statusCode, 200)
      for (const bad of ['3', '"3']) {
        const res = await mergePatch(slug, { title: 'x' }, { 'if-match': bad })
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
        assert.equal(json(res).error.code, 'INVALID_IF_MATCH')
      }
      assert.equal((await api('DELETE', `/api/campaign/${slug}`)).headers.etag, '"5"')
    })

    it('refuses a PATCH body of any other JSON type instead of taking it unvalidated', async () => {
      const slug = uniqueSlug('ctype')
      assert.equal((await api('POST', '/api/campaign', { slug, title: 'Type' })).statusCode, 201)
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/vnd.other+json' },
        payload: JSON.stringify({ metadata: { colour: 'red' }, title: '' }),
      })
      assert.equal(res.statusCode, 415, res.body)
      assert.equal(json(await api('GET', `/api/campaign/${slug}`)).title, 'Type')
    })

    it('refuses bad slugs', async () => {
      for (const slug of ['Upper', '../x', '', 'a b', 'x'.repeat(65)]) {
        const res = await api('POST', '/api/campaign', { slug, title: 't' })
        assert.equal(res.statusCode, 400, slug)
      }
    })

    it('refuses input PostgreSQL cannot store or read with a 400, changing nothing', async () => {
      const slug = uniqueSlug()
      assert.equal((await api('POST', '/api/campaign', { slug, title: 'Plain' })).statusCode, 201)
      const raw = (method: 'POST' | 'PATCH', url: string, payload: string) =>
        t.app.inject({
          method,
          url,
          headers: { ...adminHeaders, 'content-type': 'application/json' },
          payload,
        })
      const patched = await raw(
        'PATCH',
        `/api/campaign/${slug}`,
        '{"metadata":{"custom_rules":{"team":"\\udc00"}}}',
      )
      assert.equal(patched.statusCode, 400, patched.body)
      assert.equal(json(patched).error.code, 'INVALID_CHARACTER')
      const created = await raw('POST', '/api/campaign', `{"slug":"${uniqueSlug()}","title":"\\ud800"}`)
      assert.equal(created.statusCode, 400, created.body)
      assert.equal(json(created).error.code, 'INVALID_CHARACTER')
      const unchanged = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(unchanged.version, 1)
      assert.deepEqual(unchanged.metadata, {})

      const page = await api('GET', '/api/campaign?page=100000000000000000000')
      assert.equal(page.statusCode, 400, page.body)
      assert.equal(json(page).error.code, 'VALIDATION_FAILED')
      // A well-formed surrogate pair (an emoji) is ordinary text.
      const emoji = await raw('PATCH', `/api/campaign/${slug}`, '{"title":"Launch \\ud83d\\ude80"}')
      assert.equal(emoji.statusCode, 200, emoji.body)
      assert.equal(json(emoji).title, 'Launch \u{1F680}')
    })

    it('answers 404 for unknown campaigns', async () => {
      const res = await api('GET', '/api/campaign/nope_nope')
      assert.equal(res.statusCode, 404)
      assert.equal(json(res).error.code, 'CAMPAIGN_NOT_FOUND')
    })

    it('refuses a custom rule a module reads with the wrong type or range, naming it', async () => {
      for (const [rules, path] of [
        [{ max_referrals: '10' }, 'max_referrals'],
        [{ max_referrals: -1 }, 'max_referrals'],
        [{ max_referrals_per_ip: 1e10 }, 'max_referrals_per_ip'],
        [{ referral_milestones: [0, 5] }, 'referral_milestones'],
        [{ quote_rate_limit: { max: 0 } }, 'quote_rate_limit'],
        [{ block_disposable_emails: 'yes' }, 'block_disposable_emails'],
        [{ leaderboard_size: 1000 }, 'leaderboard_size'],
      ] as const) {
        const res = await api('POST', '/api/campaign', {
          slug: uniqueSlug(),
          title: 'Rules',
          metadata: { custom_rules: rules },
        })
        assert.equal(res.statusCode, 400, `${JSON.stringify(rules)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.match(JSON.stringify(json(res).error.details), new RegExp(`custom_rules/${path}`))
      }
      // Rules no module reads stay free-form.
      const ok = await api('POST', '/api/campaign', {
        slug: uniqueSlug(),
        title: 'Rules',
        metadata: { custom_rules: { max_referrals: 0, team_colour: 'teal', anything: { goes: [1] } } },
      })
      assert.equal(ok.statusCode, 201, ok.body)
    })

    it('shows sessions only the public view', async () => {
      const slug = uniqueSlug()
      await api('POST', '/api/campaign', {
        slug,
        title: 'Public',
        metadata: { custom_rules: { secret: 1 }, features: ['quote'] },
      })
      const { token } = await guestToken(t.app)
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}`,
        headers: { authorization: `Bearer ${token}` },
      })
      const body = json(res)
      assert.equal(body.title, 'Public')
      assert.deepEqual(body.metadata.features, ['quote'])
      assert.equal(body.metadata.custom_rules, undefined)
      assert.equal(body.created_by, undefined)
    })

    it('creates the default campaign on first start', async () => {
      const res = await api('GET', `/api/campaign/${t.config.DEFAULT_CAMPAIGN}`)
      assert.equal(res.statusCode, 200)
      assert.equal(json(res).status, 'active')
    })

    it('tells every node when a campaign changes', async () => {
      const slug = uniqueSlug()
      await api('POST', '/api/campaign', { slug, title: 'Tick' })
      const campaigns: any = (t.app as any).campaigns
      assert.equal(campaigns, undefined, 'campaign service is not a global')
      const seen: string[] = []
      const off = await t.app.platform.bus.subscribe('ovasabi:campaign:changed', (m: any) =>
        seen.push(m.slug),
      )
      await api('PATCH', `/api/campaign/${slug}`, { metadata: { scheduling: { frequency: 20 } } })
      // Awaited, not timed: a loaded host may take seconds to carry the message.
      for (let i = 0; i < 2000 && !seen.includes(slug); i++) await new Promise((r) => setTimeout(r, 10))
      await off()
      assert.ok(seen.includes(slug))
    })
  })
}
