import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { referralRules } from '../src/modules/referral/referral.rules.js'
import { createReferralService } from '../src/modules/referral/referral.service.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import { adminHeaders, createCampaign, DIALECTS, json, onTwoPostgresNodes, sendAction } from './helper.js'
import { ip, mail } from './people-fixtures.js'
import { realtimeSuite } from './realtime/fixtures.js'
import { capturingFrames, type Joined, join, joinWith, refused, tryApply } from './referral-fixtures.js'

// A QA pass on referrals as a demanding user and as an attacker: odd custom_rules, every refusal
// with its code, codes across campaigns, erased people, the leaderboard, milestones, states.

function patchRules(app: FastifyInstance, slug: string, custom_rules: Record<string, unknown>) {
  return app.inject({
    method: 'PATCH',
    url: `/api/campaign/${slug}`,
    headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
    payload: { metadata: { custom_rules } },
  })
}

function leaderboard(app: FastifyInstance, slug: string, token: string, query = '') {
  return app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/referrals/leaderboard${query}`,
    headers: { authorization: `Bearer ${token}` },
  })
}

async function auditTrail(app: FastifyInstance, slug: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/referrals/audit`,
    headers: adminHeaders,
  })
  assert.equal(res.statusCode, 200, res.body)
  return (json(res).entries as Array<Record<string, unknown>>).reverse()
}

function milestoneFrames(frames: RealtimeMessage[], slug: string) {
  return frames
    .filter(
      (m) =>
        m.audience.scope === 'campaign' &&
        m.frame.type === 'campaign_event' &&
        m.frame.campaign_id === slug &&
        m.frame.event === 'referral.milestone',
    )
    .map(
      (m) =>
        m.frame.payload as { user_display_name: string; threshold: number; count: number; message: string },
    )
}

/** `count` new people apply `code`, each from an address of their own. */
async function referMany(app: FastifyInstance, slug: string, code: string, count: number) {
  const referred: Joined[] = []
  for (let i = 0; i < count; i++) {
    const who = await join(app, slug)
    const res = await tryApply(app, slug, who, code)
    assert.equal(res.statusCode, 200, res.body)
    referred.push(who)
  }
  return referred
}

describe('referral rules read from odd custom_rules (stored before they were checked)', () => {
  const rules = (custom_rules: unknown) => referralRules({ metadata: { custom_rules } as never })

  it('reads milestones unsorted, duplicated, negative, zero, fractional, textual or huge safely', () => {
    assert.deepEqual(rules({ referral_milestones: [10, 1, 5, 5, 1] }).milestones, [1, 5, 10])
    assert.deepEqual(rules({ referral_milestones: [-1, 0, 2.5, '3', null, {}, 4] }).milestones, [4])
    assert.deepEqual(rules({ referral_milestones: 'lots' }).milestones, [1, 5, 10, 25, 50, 100])
    assert.deepEqual(rules({ referral_milestones: { 0: 1 } }).milestones, [1, 5, 10, 25, 50, 100])
    const huge = Array.from({ length: 100_000 }, (_, i) => 100_000 - i)
    assert.deepEqual(rules({ referral_milestones: huge }).milestones, huge.slice(-100).reverse())
    assert.deepEqual(rules({ referral_milestones: [2 ** 31, 1e300, Number.NaN, 7] }).milestones, [7])
  })

  it('reads max_referrals and max_referrals_per_ip safely', () => {
    assert.equal(rules({ max_referrals: 0 }).maxReferrals, 0)
    assert.equal(rules({ max_referrals: 3 }).maxReferrals, 3)
    for (const odd of [-1, '3', 2.5, 2 ** 31, null])
      assert.equal(rules({ max_referrals: odd }).maxReferrals, null)
    for (const odd of [0, -1, '5', 2.5, 2 ** 31, null])
      assert.equal(rules({ max_referrals_per_ip: odd }).maxPerIp, 3)
    assert.equal(rules({ max_referrals_per_ip: 2 ** 31 - 1 }).maxPerIp, 2 ** 31 - 1)
    for (const odd of [undefined, null, 'rules', 5, []]) {
      assert.deepEqual(rules(odd), {
        maxPerIp: 3,
        maxReferrals: null,
        qualifiesOn: 'register',
        milestones: [1, 5, 10, 25, 50, 100],
      })
    }
  })
})

for (const dialect of DIALECTS) {
  describe(`referrals QA (${dialect})`, () => {
    const live = realtimeSuite({ dialect })
    const { app, frames } = capturingFrames(live)

    it('refuses odd referral rules when a campaign is written, naming the rule, never a 500', async () => {
      const bad: Array<Record<string, unknown>> = [
        { referral_milestones: [-1] },
        { referral_milestones: [0] },
        { referral_milestones: [1.5] },
        { referral_milestones: ['5'] },
        { referral_milestones: 5 },
        { referral_milestones: Array.from({ length: 101 }, (_, i) => i + 1) },
        { referral_milestones: [2 ** 31] },
        { max_referrals: -1 },
        { max_referrals: '10' },
        { max_referrals: 1.5 },
        { max_referrals_per_ip: 0 },
        { max_referrals_per_ip: 2 ** 31 },
        { max_referrals_per_ip: '3' },
      ]
      for (const custom_rules of bad) {
        const created = await app().inject({
          method: 'POST',
          url: '/api/campaign',
          headers: adminHeaders,
          payload: {
            slug: `bad_${randomBytes(4).toString('hex')}`,
            title: 'Bad',
            metadata: { custom_rules },
          },
        })
        assert.equal(created.statusCode, 400, `${JSON.stringify(custom_rules)}: ${created.body}`)
        const [rule] = Object.keys(custom_rules) as [string]
        assert.ok(created.body.includes(rule), `the error names ${rule}: ${created.body}`)
        const slug = await createCampaign(app())
        const patched = await patchRules(app(), slug, custom_rules)
        assert.equal(patched.statusCode, 400, `${JSON.stringify(custom_rules)}: ${patched.body}`)
        assert.ok(patched.body.includes(rule), `the error names ${rule}: ${patched.body}`)
      }
    })

    it('fires unsorted, duplicated milestones once each, in order, by display name only', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_milestones: [3, 1, 3, 2] } },
      })
      const ada = await join(app(), slug, 'Ada', mail('ada'))
      await referMany(app(), slug, ada.user.referral_code, 4)
      const fired = milestoneFrames(frames, slug)
      assert.deepEqual(
        fired.map((m) => [m.threshold, m.count, m.message]),
        [
          [1, 1, 'Ada now has 1 referral'],
          [2, 2, 'Ada now has 2 referrals'],
          [3, 3, 'Ada now has 3 referrals'],
        ],
      )
      assert.ok(!JSON.stringify(fired).includes(ada.user.email))
    })

    it('fires each threshold once when the milestones change after some fired, and only as they are crossed', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_milestones: [1, 4] } },
      })
      const ada = await join(app(), slug, 'Ada')
      await referMany(app(), slug, ada.user.referral_code, 2)
      assert.deepEqual(
        milestoneFrames(frames, slug).map((m) => m.threshold),
        [1],
      )
      // 2 is added after Ada passed it; 1 is dropped and put back; 3 and 4 are still ahead.
      assert.equal((await patchRules(app(), slug, { referral_milestones: [4, 3] })).statusCode, 200)
      assert.equal((await patchRules(app(), slug, { referral_milestones: [1, 2, 3, 4] })).statusCode, 200)
      await referMany(app(), slug, ada.user.referral_code, 3)
      assert.deepEqual(
        milestoneFrames(frames, slug).map((m) => [m.threshold, m.count]),
        [
          [1, 1],
          [3, 3],
          [4, 4],
        ],
        'a threshold added below the count was crossed before it existed: no stale "now has 2"',
      )
    })

    it('refuses unknown codes in every disguise with UNKNOWN_REFERRAL_CODE, and bad shapes with 400', async () => {
      const slug = await createCampaign(app())
      const ada = await join(app(), slug, 'Ada')
      const code = ada.user.referral_code
      const bob = await join(app(), slug)
      const lookAlike: Record<string, string> = { '2': 'Z', '5': 'S', '8': 'B', B: '8', S: '5', Z: '2' }
      const swapped = [...code].map((ch) => lookAlike[ch] ?? '0').join('')
      const unknown = [
        swapped,
        code.replace(/./, 'O'),
        code.replace(/./, '0'),
        code.replace(/./, 'I'),
        code.replace(/./, '1'),
        code.replace(/./, 'l'),
        // Cyrillic and full-width look-alikes of letters of the alphabet.
        code.replace(/[A-Z]/, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)),
        `${code.slice(0, 6)}\u0410`,
        `${code}${code}`,
        `${code}\u200b`,
        '    ',
        '----',
        'x'.repeat(32),
      ]
      for (const c of unknown) refused(await tryApply(app(), slug, bob, c), 404, 'UNKNOWN_REFERRAL_CODE')
      for (const c of ['x'.repeat(33), 'ab', '', 1234567, null, [code], { code }, true])
        refused(await tryApply(app(), slug, bob, c), 400, 'VALIDATION_FAILED')
      // As the action: the same refusals.
      const action = await sendAction(app(), slug, bob.token, 'referral.apply', { code: 1234567 })
      assert.equal(action.statusCode, 400, action.body)
      const viaAction = await sendAction(app(), slug, bob.token, 'apply_referral', { code: swapped })
      refused(viaAction, 404, 'UNKNOWN_REFERRAL_CODE')
      // Whitespace, dashes and case as people copy codes: accepted.
      const spaced = ` ${code.slice(0, 3).toLowerCase()}-${code.slice(3)}\t`
      const ok = await tryApply(app(), slug, bob, spaced)
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(json(ok).code, code)
    })

    it('refuses a code of another campaign, even the same referrer’s', async () => {
      const a = await createCampaign(app())
      const b = await createCampaign(app())
      const email = mail('ada')
      const adaA = await join(app(), a, 'Ada', email)
      const adaB = await joinWith(app(), b, { name: 'Ada', email, token: adaA.token })
      assert.notEqual(adaA.user.referral_code, adaB.user.referral_code)
      const bob = await join(app(), b)
      refused(await tryApply(app(), b, bob, adaA.user.referral_code), 404, 'UNKNOWN_REFERRAL_CODE')
      // Someone not in campaign A cannot use A's code in A either.
      refused(await tryApply(app(), a, bob, adaA.user.referral_code), 403, 'REGISTRATION_REQUIRED')
      // At join: the join succeeds, the code is refused.
      const cy = await joinWith(app(), b, { referral_code: adaA.user.referral_code })
      assert.equal(cy.referral?.code, 'UNKNOWN_REFERRAL_CODE')
      const ok = await tryApply(app(), b, bob, adaB.user.referral_code)
      assert.equal(ok.statusCode, 200, ok.body)
    })

    it('refuses the referrer’s own address in other case and whitespace', async () => {
      const slug = await createCampaign(app())
      const local = `ada.${randomBytes(3).toString('hex')}`
      const ada = await joinWith(app(), slug, { name: 'Ada', email: `${local}@example.com` })
      for (const email of [`${local.toUpperCase()}@EXAMPLE.COM`, `  ${local}@Example.Com `]) {
        const res = await app().inject({
          method: 'POST',
          url: '/api/user/register',
          headers: { 'x-forwarded-for': ip() },
          payload: { campaign: slug, email, name: 'Not Ada', referral_code: ada.user.referral_code },
        })
        // The same address: not a second account that her code could count.
        refused(res, 409, 'EMAIL_TAKEN')
      }
      const counter = await app()
        .platform.database.db.selectFrom('service_referral_counter')
        .select('qualified')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.deepEqual(counter, [])
    })

    it('caps a code per IP at max_referrals_per_ip, and a huge cap is no cap', async () => {
      const slug = await createCampaign(app(), { metadata: { custom_rules: { max_referrals_per_ip: 1 } } })
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy, dee] = [await join(app(), slug), await join(app(), slug), await join(app(), slug)]
      assert.equal((await tryApply(app(), slug, bob, ada.user.referral_code, '10.9.9.9')).statusCode, 200)
      refused(
        await tryApply(app(), slug, cy, ada.user.referral_code, '10.9.9.9'),
        422,
        'REFERRAL_IP_LIMIT_REACHED',
      )
      assert.equal((await tryApply(app(), slug, dee, ada.user.referral_code, '10.9.9.8')).statusCode, 200)
      // Cy was refused, not referred: another address may still count them.
      assert.equal((await tryApply(app(), slug, cy, ada.user.referral_code, '10.9.9.7')).statusCode, 200)

      const open = await createCampaign(app(), {
        metadata: { custom_rules: { max_referrals_per_ip: 2 ** 31 - 1 } },
      })
      const eve = await join(app(), open, 'Eve')
      for (let i = 0; i < 5; i++) {
        const res = await tryApply(app(), open, await join(app(), open), eve.user.referral_code, '10.9.9.9')
        assert.equal(res.statusCode, 200, res.body)
      }
    })

    it('refuses every referral at max_referrals 0, and the last slot goes once', async () => {
      const none = await createCampaign(app(), { metadata: { custom_rules: { max_referrals: 0 } } })
      const ada = await join(app(), none, 'Ada')
      refused(
        await tryApply(app(), none, await join(app(), none), ada.user.referral_code),
        409,
        'MAX_REFERRALS_REACHED',
      )
      const joined = await joinWith(app(), none, { referral_code: ada.user.referral_code })
      assert.equal(joined.referral?.code, 'MAX_REFERRALS_REACHED')

      const one = await createCampaign(app(), { metadata: { custom_rules: { max_referrals: 1 } } })
      const eve = await join(app(), one, 'Eve')
      const [bob, cy] = [await join(app(), one), await join(app(), one)]
      const both = await Promise.all([bob, cy].map((p) => tryApply(app(), one, p, eve.user.referral_code)))
      assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 409], both.map((r) => r.body).join())
    })

    it('keeps erased referrers off the board and out of milestones, their code unknown', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_milestones: [1, 2] } },
      })
      const ada = await join(app(), slug, 'Ada', mail('ada'))
      const bo = await join(app(), slug, 'Bo')
      await referMany(app(), slug, ada.user.referral_code, 1)
      await referMany(app(), slug, bo.user.referral_code, 1)
      const erased = await app().inject({
        method: 'DELETE',
        url: `/api/user/${ada.user.id}`,
        headers: { authorization: `Bearer ${ada.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const viewer = await join(app(), slug)
      const board = await leaderboard(app(), slug, viewer.token)
      assert.equal(board.statusCode, 200, board.body)
      assert.deepEqual(json(board).entries, [{ rank: 1, display_name: 'Bo', referrals: 1 }])
      refused(await tryApply(app(), slug, viewer, ada.user.referral_code), 404, 'UNKNOWN_REFERRAL_CODE')
      const all = JSON.stringify(milestoneFrames(frames, slug))
      assert.ok(!all.includes(ada.user.email))
      // Erasing one Bo referred: Bo keeps the referral, the address hash of it goes.
      const [referred] = await referMany(app(), slug, bo.user.referral_code, 1)
      const gone = await app().inject({
        method: 'DELETE',
        url: `/api/user/${referred!.user.id}`,
        headers: { authorization: `Bearer ${referred!.token}` },
      })
      assert.equal(gone.statusCode, 200, gone.body)
      const row = await app()
        .platform.database.db.selectFrom('service_referral_main')
        .select(['ip_hash', 'state'])
        .where('referred_id', '=', referred!.user.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(row, { ip_hash: '', state: 'qualified' })
      assert.deepEqual(json(await leaderboard(app(), slug, viewer.token)).entries, [
        { rank: 1, display_name: 'Bo', referrals: 2 },
      ])
      assert.deepEqual(
        milestoneFrames(frames, slug).map((m) => m.user_display_name),
        ['Ada', 'Bo', 'Bo'],
      )
    })

    it('announces nothing of a referrer erased while their referral waited to qualify', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_qualifies_on: 'quote.submit', referral_milestones: [1] } },
      })
      const ada = await join(app(), slug, 'Ada Gone', mail('ada'))
      const bob = await join(app(), slug)
      assert.equal(json(await tryApply(app(), slug, bob, ada.user.referral_code)).status, 'pending')
      const erased = await app().inject({
        method: 'DELETE',
        url: `/api/user/${ada.user.id}`,
        headers: { authorization: `Bearer ${ada.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const quoted = await sendAction(app(), slug, bob.token, 'quote.submit', {
        name: 'Q',
        email: mail('quote'),
      })
      assert.equal(quoted.statusCode, 200, quoted.body)
      const { db } = app().platform.database
      const settled = async () =>
        (
          await db
            .selectFrom('service_referral_milestone')
            .select('announced_at')
            .where('campaign_slug', '=', slug)
            .executeTakeFirst()
        )?.announced_at
      for (let i = 0; i < 400 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 25))
      assert.ok(await settled(), 'the milestone was settled, with nothing to say')
      assert.deepEqual(milestoneFrames(frames, slug), [])
      assert.deepEqual(json(await leaderboard(app(), slug, bob.token)).entries, [])
    })

    it('orders ties by who got there first, bounds N, refuses bad paging, and shows names as given', async () => {
      const slug = await createCampaign(app())
      const names = ['<script>alert(1)</script>', 'Ω'.repeat(100), 'Robert"); DROP TABLE x;--', 'Zed']
      const people: Joined[] = []
      for (const name of names) people.push(await join(app(), slug, name))
      // Reverse order: the last joined reaches one referral first.
      for (const p of [...people].reverse()) await referMany(app(), slug, p.user.referral_code, 1)
      const viewer = await join(app(), slug)
      const first = json(await leaderboard(app(), slug, viewer.token)).entries
      assert.deepEqual(
        first.map((e: { display_name: string }) => e.display_name),
        [...names].reverse(),
      )
      for (let i = 0; i < 3; i++)
        assert.deepEqual(json(await leaderboard(app(), slug, viewer.token)).entries, first)
      const two = json(await leaderboard(app(), slug, viewer.token, '?limit=2')).entries
      assert.deepEqual(two, first.slice(0, 2))
      assert.equal(json(await leaderboard(app(), slug, viewer.token, '?limit=100')).entries.length, 4)
      for (const q of ['0', '-1', '101', 'abc', '1.5', '', '1e3', '99999999999999999999', '5&limit=6'])
        refused(await leaderboard(app(), slug, viewer.token, `?limit=${q}`), 400, 'VALIDATION_FAILED')
      const body = JSON.stringify(first)
      for (const p of people) assert.ok(!body.includes(p.user.email) && !body.includes(p.user.id))
      refused(await leaderboard(app(), 'no_such_campaign', viewer.token), 404, 'CAMPAIGN_NOT_FOUND')
      const anonymous = await app().inject({
        method: 'GET',
        url: `/api/campaign/${slug}/referrals/leaderboard`,
      })
      assert.equal(anonymous.statusCode, 401)

      // The same board in stats_update.
      const socket = await live.openGuest(slug)
      const stats = await socket.next((f) => f.type === 'stats_update' && Array.isArray(f.leaderboard))
      assert.deepEqual(stats.leaderboard, json(await leaderboard(app(), slug, viewer.token)).entries)
      // Bounded by leaderboard_size there.
      assert.equal((await patchRules(app(), slug, { leaderboard_size: 2 })).statusCode, 200)
      const small = await live.openGuest(slug)
      // (Its room may first repeat the figures it computed before the change.)
      const bounded = await small.next((f) => f.type === 'stats_update' && f.leaderboard?.length === 2)
      assert.deepEqual(bounded.leaderboard, first.slice(0, 2))
    })

    it('never lists one referrer twice when the board moves while it reads past erased people', async () => {
      const slug = `board_${randomBytes(4).toString('hex')}`
      const { db } = app().platform.database
      const counter = (user_id: string, qualified: number, second: number) => ({
        campaign_slug: slug,
        user_id,
        qualified,
        pending: 0,
        updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
      })
      // 24 erased people above Lee (the last row of the first page of 5 + 20), then five more.
      const erased = Array.from({ length: 24 }, (_, i) => counter(`gone${i}`, 10, i))
      const living = ['lee', 'mo', 'ned', 'oz', 'pia', 'quin'].map((id, i) => counter(id, i ? 1 : 9, 30 + i))
      await db
        .insertInto('service_referral_counter')
        .values([...erased, ...living])
        .execute()
      let moved = false
      const referrals = createReferralService({
        db,
        publisher: app().publisher,
        users: {
          findMember: async () => undefined,
          sessionIds: async () => [],
          async displayNames(ids) {
            // Between the pages: Pia climbs to the top, and Lee slides onto the second page.
            if (!moved) {
              moved = true
              await db
                .updateTable('service_referral_counter')
                .set({ qualified: 20 })
                .where('campaign_slug', '=', slug)
                .where('user_id', '=', 'pia')
                .execute()
            }
            return new Map(ids.filter((id) => !id.startsWith('gone')).map((id) => [id, id.toUpperCase()]))
          },
        },
      })
      const board = await referrals.leaderboard(slug, 5)
      const names = board.map((e) => e.display_name)
      assert.deepEqual([...new Set(names)], names, `nobody twice: ${names.join()}`)
      assert.deepEqual(
        board.map((e) => e.rank),
        [1, 2, 3, 4, 5],
      )
      assert.deepEqual(names, ['LEE', 'MO', 'NED', 'OZ', 'QUIN'])
    })

    it('hides a draft campaign’s leaderboard from all but editors, as an unknown slug', async () => {
      const slug = await createCampaign(app())
      const ada = await join(app(), slug, 'Ada Secret')
      await referMany(app(), slug, ada.user.referral_code, 1)
      const viewer = await join(app(), slug)
      const back = await app().inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: { draft: true },
      })
      assert.equal(back.statusCode, 200, back.body)
      const guest = await live.guestToken()
      for (const token of [guest, viewer.token, ada.token]) {
        const res = await leaderboard(app(), slug, token)
        refused(res, 404, 'CAMPAIGN_NOT_FOUND')
        assert.ok(!res.body.includes('Ada Secret'))
        assert.equal(json(res).error.message, `Campaign ${slug} does not exist`)
      }
      const editor = await app().inject({
        method: 'GET',
        url: `/api/campaign/${slug}/referrals/leaderboard`,
        headers: adminHeaders,
      })
      assert.equal(editor.statusCode, 200, editor.body)
      assert.deepEqual(json(editor).entries, [{ rank: 1, display_name: 'Ada Secret', referrals: 1 }])
      // Without the feature: still not found, rather than a 403 that tells the draft exists.
      const hidden = await createCampaign(app(), { draft: true, features: ['registration'] })
      refused(await leaderboard(app(), hidden, guest), 404, 'CAMPAIGN_NOT_FOUND')
    })

    it('moves pending → qualified | rejected once each, with an audit trail only editors read', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_qualifies_on: 'quote.submit', max_referrals: 1 } },
      })
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy] = [await join(app(), slug), await join(app(), slug)]
      for (const p of [bob, cy]) {
        const res = await tryApply(app(), slug, p, ada.user.referral_code)
        assert.equal(json(res).status, 'pending', res.body)
      }
      const quote = (who: Joined) =>
        sendAction(app(), slug, who.token, 'quote.submit', { name: 'Q', email: mail('quote') })
      const state = async (who: Joined) =>
        await app()
          .platform.database.db.selectFrom('service_referral_main')
          .select(['state', 'reason'])
          .where('campaign_slug', '=', slug)
          .where('referred_id', '=', who.user.id)
          .executeTakeFirstOrThrow()
      const waitState = async (who: Joined, want: string) => {
        for (let i = 0; i < 400 && (await state(who)).state !== want; i++)
          await new Promise((r) => setTimeout(r, 25))
        assert.equal((await state(who)).state, want)
      }
      assert.equal((await quote(bob)).statusCode, 200)
      await waitState(bob, 'qualified')
      assert.equal((await quote(cy)).statusCode, 200)
      await waitState(cy, 'rejected')
      assert.deepEqual(await state(cy), { state: 'rejected', reason: 'max_referrals' })
      // Repeated actions change nothing: no second transition, no second audit entry.
      for (const who of [bob, cy, bob, cy]) assert.equal((await quote(who)).statusCode, 200)
      // Re-applying after rejection or qualification: already referred.
      refused(await tryApply(app(), slug, cy, ada.user.referral_code), 409, 'ALREADY_REFERRED')
      refused(await tryApply(app(), slug, bob, ada.user.referral_code), 409, 'ALREADY_REFERRED')
      const trail = (await auditTrail(app(), slug)).filter((e) => e.to_state !== 'refused')
      assert.deepEqual(
        trail.map((e) => [e.from_state, e.to_state, e.reason]),
        [
          [null, 'pending', null],
          [null, 'pending', null],
          ['pending', 'qualified', null],
          ['pending', 'rejected', 'max_referrals'],
        ],
      )
      assert.deepEqual(
        [await state(bob), await state(cy)],
        [
          { state: 'qualified', reason: null },
          { state: 'rejected', reason: 'max_referrals' },
        ],
      )
      const counter = await app()
        .platform.database.db.selectFrom('service_referral_counter')
        .select(['qualified', 'pending'])
        .where('campaign_slug', '=', slug)
        .where('user_id', '=', ada.user.id)
        .executeTakeFirstOrThrow()
      assert.deepEqual(counter, { qualified: 1, pending: 0 })
      // Participants cannot read the trail, nor move a state by any route.
      const asParticipant = await app().inject({
        method: 'GET',
        url: `/api/campaign/${slug}/referrals/audit`,
        headers: { authorization: `Bearer ${ada.token}` },
      })
      assert.equal(asParticipant.statusCode, 403, asParticipant.body)
      for (const q of ['0', '1001', 'x', '-5'])
        refused(
          await app().inject({
            method: 'GET',
            url: `/api/campaign/${slug}/referrals/audit?limit=${q}`,
            headers: adminHeaders,
          }),
          400,
          'VALIDATION_FAILED',
        )
    })
  })
}

describe('the last referral slot raced on two nodes (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('lets exactly one of two applies for the last slot count, and rolls the other back', () =>
    onTwoPostgresNodes(async (first, second) => {
      const slug = await createCampaign(first.app, { metadata: { custom_rules: { max_referrals: 1 } } })
      const referrers: Joined[] = []
      for (let i = 0; i < 10; i++) referrers.push(await join(i % 2 ? first.app : second.app, slug))
      const pairs: Array<[Joined, Joined]> = []
      for (let i = 0; i < 10; i++) pairs.push([await join(first.app, slug), await join(second.app, slug)])
      const results = await Promise.all(
        pairs.map(([a, b], i) =>
          Promise.all([
            tryApply(first.app, slug, a, referrers[i]!.user.referral_code),
            tryApply(second.app, slug, b, referrers[i]!.user.referral_code),
          ]),
        ),
      )
      for (const pair of results) {
        const codes = pair.map((r) => (r.statusCode === 200 ? 'ok' : json(r).error.code)).sort()
        assert.deepEqual(codes, ['MAX_REFERRALS_REACHED', 'ok'])
      }
      const { db } = first.app.platform.database
      const rows = await db
        .selectFrom('service_referral_main')
        .select('id')
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(rows.length, 10, 'the losers left no referral behind')
      const stats = json(
        await first.app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
      )
      assert.deepEqual([stats.counters.referrals, stats.counters.referrals_qualified], [10, 10])
    }))
})

describe('refusals raced on two nodes (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('holds the per-code per-IP cap and one referral per person under concurrent applies', () =>
    onTwoPostgresNodes(async (first, second) => {
      const slug = await createCampaign(first.app, {
        metadata: { custom_rules: { max_referrals_per_ip: 2 } },
      })
      const ada = await join(first.app, slug, 'Ada')
      const crowd: Joined[] = []
      for (let i = 0; i < 12; i++) crowd.push(await join(i % 2 ? first.app : second.app, slug))
      const office = await Promise.all(
        crowd.map((p, i) =>
          tryApply(i % 2 ? second.app : first.app, slug, p, ada.user.referral_code, '10.20.30.40'),
        ),
      )
      const outcomes = office.map((r) => (r.statusCode === 200 ? 'ok' : json(r).error.code))
      assert.equal(outcomes.filter((o) => o === 'ok').length, 2, outcomes.join())
      assert.equal(outcomes.filter((o) => o === 'REFERRAL_IP_LIMIT_REACHED').length, 10, outcomes.join())

      // One person, two codes at once on two nodes: one counts, the other is ALREADY_REFERRED.
      const codes: string[] = []
      for (let i = 0; i < 2; i++) codes.push((await join(first.app, slug)).user.referral_code)
      for (let round = 0; round < 5; round++) {
        const who = await join(first.app, slug)
        const both = await Promise.all([
          tryApply(first.app, slug, who, codes[0]),
          tryApply(second.app, slug, who, codes[1]),
        ])
        const got = both.map((r) => (r.statusCode === 200 ? 'ok' : json(r).error.code)).sort()
        assert.deepEqual(got, ['ALREADY_REFERRED', 'ok'])
      }
      const { db } = first.app.platform.database
      const counters = await db
        .selectFrom('service_referral_counter')
        .select(['user_id', 'qualified'])
        .where('campaign_slug', '=', slug)
        .execute()
      assert.equal(
        counters.reduce((n, c) => n + c.qualified, 0),
        2 + 5,
        'every refused apply rolled back its count',
      )
    }))
})
