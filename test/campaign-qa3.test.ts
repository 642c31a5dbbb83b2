// Campaign configuration, third QA pass: a merge patch must leave the campaign valid (restating a
// legacy zone is checked), a schedule that cannot be read holds the campaign closed to visitors
// (reported to editors, fixed by a patch), drafts are 404 to visitors over REST, and titles and
// display names cannot pile up combining marks (`ovasabi campaign list`: cli-campaign-list.test.ts).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { campaignStatus } from '../src/modules/campaign/campaign.schema.js'
import { hasMarkPile } from '../src/platform/text.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  insertLegacyCampaign,
  json,
  sendAction,
  type TestContext,
  uniqueSlug,
  userToken,
} from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

/** "Zalgo": each letter under `n` combining marks (grave, acute, circumflex, tilde, macron…). */
const zalgo = (text: string, n: number) =>
  [...text]
    .map((ch) => ch + Array.from({ length: n }, (_, i) => String.fromCharCode(0x300 + i)).join(''))
    .join('')

describe('combining marks per character (platform/text.ts)', () => {
  it('allows real writing and refuses piles of more than 4 marks, format characters or not', () => {
    for (const ok of ['Nguyễn Thị Minh Khai', 'Zoë', 'שָׁלוֹם', 'हिन्दी', '👩🏽‍💻 Ada', zalgo('ab', 4)])
      assert.equal(hasMarkPile(ok), false, ok)
    for (const piled of [zalgo('Zalgo', 5), 'Z̵̢̛̛̛̛a', `a${'\u0301\u200d'.repeat(5)}`, zalgo('x', 40)])
      assert.equal(hasMarkPile(piled), true, piled)
  })
})

describe('a schedule that cannot be read', () => {
  const at = new Date('2026-06-01T00:00:00Z')
  const status = (scheduling: Record<string, unknown>) =>
    campaignStatus({ draft: false, archived_at: null, metadata: { scheduling } as never }, at)
  it('holds the campaign as a draft rather than reading it as no schedule', () => {
    assert.equal(status({ start: 'next tuesday' }), 'draft')
    assert.equal(status({ end: '2026-13-45T00:00:00Z' }), 'draft')
    assert.equal(status({ end: 1_700_000_000_000 }), 'draft')
    assert.equal(status({ start: '' }), 'draft')
    // Readable ones as before.
    assert.equal(status({ start: '2026-07-01T00:00:00Z' }), 'scheduled')
    assert.equal(status({ end: '2026-05-01T00:00:00Z' }), 'ended')
    assert.equal(status({ start: '2026-05-01T00:00:00Z', end: '2026-07-01T00:00:00Z' }), 'active')
    assert.equal(status({}), 'active')
  })
})

for (const dialect of DIALECTS) {
  describe(`campaign configuration, third QA pass (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect, redis: true })
      await t.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => t.close())

    const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, headers = {}) =>
      t.app.inject({ method, url, headers: { ...adminHeaders, ...headers }, payload })
    const mergePatch = (slug: string, payload: object) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify(payload),
      })
    const readAs = (slug: string, token: string) =>
      t.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}`,
        headers: { authorization: `Bearer ${token}` },
      })
    const editorToken = async (userId: string) =>
      (await t.app.platform.tokens.issueUser({ userId, roles: ['editor'] })).token
    /**
     * What a visitor reading `slug` gets, the slug and request id taken out (to compare with an
     * unknown slug's answer): status, error body and the headers that could tell them apart.
     */
    const refusalOf = async (slug: string, token: string) => {
      const res = await readAs(slug, token)
      const { request_id, ...body } = JSON.parse(res.body.replaceAll(slug, '<slug>'))
      assert.ok(request_id)
      return { status: res.statusCode, body, etag: res.headers.etag, type: res.headers['content-type'] }
    }

    it('refuses a merge patch that restates a legacy zone no one knows, and keeps one it leaves alone', async () => {
      const slug = await insertLegacyCampaign(t.app, 'Zoned', { frequency: 2, timezone: 'Berlin' })
      for (const scheduling of [{ timezone: 'Berlin' }, { timezone: 'Berlin', frequency: 3 }]) {
        const restated = await mergePatch(slug, { metadata: { scheduling } })
        assert.equal(restated.statusCode, 400, restated.body)
        assert.equal(json(restated).error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          json(restated).error.details.map((d: any) => d.path),
          ['/metadata/scheduling/timezone'],
        )
      }
      // The editors' view names what to fix; nothing was written.
      const read = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(read.version, 1)
      assert.equal(read.metadata.scheduling.frequency, 2)
      assert.deepEqual(
        read.problems.map((p: any) => p.path),
        ['/metadata/scheduling/timezone'],
      )
      // A patch that leaves it alone still applies; one that fixes it clears the problem.
      const tagged = await mergePatch(slug, { metadata: { scheduling: { frequency: 3 } } })
      assert.equal(tagged.statusCode, 200, tagged.body)
      assert.equal(json(tagged).metadata.scheduling.timezone, 'Berlin')
      const fixed = await mergePatch(slug, { metadata: { scheduling: { timezone: 'Europe/Berlin' } } })
      assert.equal(fixed.statusCode, 200, fixed.body)
      assert.equal(json(fixed).problems, undefined)
      const removed = await mergePatch(await insertLegacyCampaign(t.app, 'Zoned', { timezone: 'EST5' }), {
        metadata: { scheduling: { timezone: null } },
      })
      assert.equal(removed.statusCode, 200, removed.body)
      assert.deepEqual(json(removed).metadata.scheduling, {})
    })

    it('a merge patch leaves the campaign valid: the merged result is checked, naming the key', async () => {
      const slug = await createCampaign(t.app, {
        metadata: { scheduling: { start: '2026-01-01T00:00:00Z', end: '2027-01-01T00:00:00Z' } },
      })
      const swapped = await mergePatch(slug, { metadata: { scheduling: { start: '2027-06-01T00:00:00Z' } } })
      assert.equal(swapped.statusCode, 400, swapped.body)
      assert.deepEqual(
        json(swapped).error.details.map((d: any) => d.path),
        ['/metadata/scheduling/end'],
      )
      // A legacy start no one can read, which the patch does not name, is still part of the result.
      const held = await insertLegacyCampaign(t.app, 'Held', { start: 'next tuesday' })
      const tags = await mergePatch(held, { metadata: { tags: ['spring'] } })
      assert.equal(tags.statusCode, 400, tags.body)
      assert.equal(json(tags).error.code, 'VALIDATION_FAILED')
      assert.ok(
        json(tags).error.details.some((d: any) => d.path.endsWith('/metadata/scheduling/start')),
        tags.body,
      )
      assert.equal(json(await api('GET', `/api/campaign/${held}`)).version, 1)
    })

    it('holds a campaign whose schedule cannot be read closed to visitors, flags it, and a patch fixes it', async () => {
      const unknown = uniqueSlug('none')
      for (const [scheduling, key] of [
        [{ start: 'next tuesday', frequency: 2 }, 'start'],
        [{ end: 1_700_000_000_000 }, 'end'],
      ] as const) {
        const slug = await insertLegacyCampaign(t.app, 'Held', scheduling)
        const { token: guest } = await guestToken(t.app)
        // Visitors: as if it did not exist; their actions and sockets are refused.
        assert.deepEqual(await refusalOf(slug, guest), await refusalOf(unknown, guest))
        assert.equal((await refusalOf(slug, guest)).status, 404)
        const action = await sendAction(t.app, slug, guest, 'content.view', {})
        assert.equal(action.statusCode, 409, action.body)
        assert.equal(json(action).error.code, 'CAMPAIGN_NOT_ACTIVE')
        const socket = await connect(`${baseUrl(t.app)}/ws/${slug}/guest?token=${guest}`).then(
          (c) => {
            c.close()
            return assert.fail('a visitor’s socket was taken')
          },
          (err: { status?: number }) => err,
        )
        assert.equal(socket.status, 409)

        // Editors: the campaign as stored, held as a draft, and why.
        const editor = await readAs(slug, await editorToken('ed_qa3'))
        assert.equal(editor.statusCode, 200, editor.body)
        const full = json(editor)
        assert.equal(full.status, 'draft')
        assert.equal(full.draft, false)
        assert.deepEqual(full.metadata.scheduling, scheduling)
        assert.deepEqual(
          full.problems.map((p: any) => p.path),
          [`/metadata/scheduling/${key}`],
        )
        assert.match(full.problems[0].message, /held as a draft/)

        // A patch that sets it (or removes it) opens the campaign as its schedule says.
        const fixed = await mergePatch(slug, {
          metadata: { scheduling: { [key]: key === 'start' ? '2020-01-01T00:00:00Z' : null } },
        })
        assert.equal(fixed.statusCode, 200, fixed.body)
        assert.equal(json(fixed).status, 'active')
        assert.equal(json(fixed).problems, undefined)
        const pub = await readAs(slug, guest)
        assert.equal(pub.statusCode, 200, pub.body)
        assert.equal(json(pub).status, 'active')
      }
    })

    it('answers a draft only to editors and admins; anyone else gets the 404 of an unknown slug', async () => {
      const draft = await createCampaign(t.app, { draft: true })
      const unknown = uniqueSlug('none')
      const { token: guest } = await guestToken(t.app)
      const participant = await userToken(t.app, 'u_qa3_participant')
      for (const token of [guest, participant]) {
        const refused = await refusalOf(draft, token)
        assert.equal(refused.status, 404)
        assert.equal(refused.body.error.code, 'CAMPAIGN_NOT_FOUND')
        assert.deepEqual(refused, await refusalOf(unknown, token))
      }
      for (const token of [await editorToken('ed_qa3'), await userToken(t.app, 'ad_qa3', ['admin'])]) {
        const res = await readAs(draft, token)
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).status, 'draft')
        assert.equal(json(res).draft, true)
      }
      assert.equal((await api('GET', `/api/campaign/${draft}`)).statusCode, 200)

      // Announced: visitors read it.
      const live = await api('PATCH', `/api/campaign/${draft}`, { draft: false })
      assert.equal(live.statusCode, 200, live.body)
      const pub = await readAs(draft, guest)
      assert.equal(pub.statusCode, 200, pub.body)
      assert.equal(json(pub).status, 'active')
    })

    it('refuses titles, descriptions, tags and display names piled with combining marks, naming the field', async () => {
      const slug = uniqueSlug('zalgo')
      const created = await api('POST', '/api/campaign', { slug, title: zalgo('Zalgo', 12) })
      assert.equal(created.statusCode, 400, created.body)
      assert.equal(json(created).error.code, 'VALIDATION_FAILED')
      assert.deepEqual(json(created).error.details, [
        {
          in: 'body',
          path: '/title',
          message: 'must not stack more than 4 combining marks on one character',
        },
      ])
      assert.equal((await api('GET', `/api/campaign/${slug}`)).statusCode, 404)

      // Real writing, and up to 4 marks on a character, are kept.
      const title = `Nguyễn ${zalgo('ok', 4)}`
      const ok = await api('POST', '/api/campaign', {
        slug,
        title,
        metadata: { features: ['presence', 'registration'], tags: ['Zoë'] },
      })
      assert.equal(ok.statusCode, 201, ok.body)
      assert.equal(json(ok).title, title)

      for (const [res, path] of [
        [await api('PATCH', `/api/campaign/${slug}`, { title: zalgo('Renamed', 5) }), '/title'],
        [
          await api('PATCH', `/api/campaign/${slug}`, { description: `Hello ${zalgo('world', 20)}` }),
          '/description',
        ],
        [await mergePatch(slug, { title: 'Fine', description: zalgo('x', 6) }), '/description'],
        [await mergePatch(slug, { metadata: { tags: ['ok', zalgo('tag', 9)] } }), '/metadata/tags/1'],
        [
          await api('PATCH', `/api/campaign/${slug}`, { metadata: { tags: [zalgo('tag', 5)] } }),
          '/metadata/tags/0',
        ],
      ] as const) {
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.deepEqual(
          json(res).error.details.map((d: any) => d.path),
          [path],
        )
      }
      const read = json(await api('GET', `/api/campaign/${slug}`))
      assert.equal(read.version, 1)
      assert.equal(read.title, title)

      // Display names follow the same rule (`user.schema.ts`).
      const join = async (name: string) => {
        const { token } = await guestToken(t.app)
        return t.app.inject({
          method: 'POST',
          url: '/api/user/register',
          headers: { authorization: `Bearer ${token}` },
          payload: { campaign: slug, email: `${uniqueSlug('z')}@example.com`, name },
        })
      }
      const piled = await join(zalgo('Ada', 8))
      assert.equal(piled.statusCode, 400, piled.body)
      assert.equal(json(piled).error.code, 'VALIDATION_FAILED')
      assert.deepEqual(
        json(piled).error.details.map((d: any) => d.path),
        ['/name'],
      )
      const vietnamese = await join('Nguyễn Thị')
      assert.equal(vietnamese.statusCode, 201, vietnamese.body)
    })
  })
}
