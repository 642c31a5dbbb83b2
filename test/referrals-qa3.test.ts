import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  adminHeaders,
  captureFrames,
  createCampaign,
  DIALECTS,
  json,
  onTwoPostgresNodes,
  suiteApp,
} from './helper.js'
import {
  apply,
  campaignQualified,
  capturingFrames,
  counter,
  eventually,
  type Joined,
  join,
  milestones,
  patch,
  quote,
  rechecked,
  rule,
  state,
} from './referral-fixtures.js'
import { ip } from './people-fixtures.js'

// Referrals whose apply races the qualifying action (the person sends the code and the quote at
// once), and referrals of people erased.

async function erase(app: FastifyInstance, who: Joined) {
  const res = await app.inject({ method: 'DELETE', url: `/api/user/${who.user.id}`, headers: adminHeaders })
  assert.equal(res.statusCode, 200, res.body)
}

const THRESHOLDS = [1, 5, 10, 20, 30]
const racing = {
  custom_rules: {
    referral_qualifies_on: 'quote.submit',
    referral_milestones: THRESHOLDS,
    max_referrals_per_ip: 1000,
  },
}

/**
 * 30 people who joined each apply Ada's code while sending their quote, all at once (`applyOn`
 * and `quoteOn` pick each one's node). Every referral must end qualified, each counted once.
 */
async function race(
  slug: string,
  apps: FastifyInstance[],
  frames: RealtimeMessage[],
  pick: (i: number) => { applyOn: FastifyInstance; quoteOn: FastifyInstance },
) {
  const [app] = apps as [FastifyInstance]
  const db = app.platform.database.db
  const ada = await join(app, slug, 'Ada')
  const people = await Promise.all(Array.from({ length: 30 }, (_, i) => join(apps[i % apps.length]!, slug)))
  const statuses = await Promise.all(
    people.map(async (p, i) => {
      const { applyOn, quoteOn } = pick(i)
      const [status] = await Promise.all([
        apply(applyOn, slug, p, ada.user.referral_code),
        quote(quoteOn, slug, p),
      ])
      return status
    }),
  )
  for (const s of statuses) assert.ok(s === 'pending' || s === 'qualified', s)
  await eventually(async () => {
    const left = await db
      .selectFrom('service_referral_main')
      .select('id')
      .where('campaign_slug', '=', slug)
      .where('state', '!=', 'qualified')
      .execute()
    return left.length === 0
  }, 'every raced referral qualifies')
  assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 30, pending: 0 })
  assert.equal(await campaignQualified(app, slug), 30)
  const audit = await db
    .selectFrom('service_referral_audit')
    .select('referral_id')
    .where('campaign_slug', '=', slug)
    .where('to_state', '=', 'qualified')
    .execute()
  assert.equal(audit.length, 30)
  assert.equal(new Set(audit.map((a) => a.referral_id)).size, 30)
  const rows = await db
    .selectFrom('service_referral_milestone')
    .select('threshold')
    .where('campaign_slug', '=', slug)
    .execute()
  assert.deepEqual(
    rows.map((r) => r.threshold).sort((a, b) => a - b),
    THRESHOLDS,
  )
  await eventually(async () => milestones(frames, slug).length >= THRESHOLDS.length, 'every milestone')
  assert.deepEqual(milestones(frames, slug), THRESHOLDS)
}

for (const dialect of DIALECTS) {
  describe(`referrals raced and erased (${dialect})`, () => {
    const { app, frames } = capturingFrames(suiteApp({ dialect }))

    it('qualifies every referral once when its apply races the qualifying action (30 at once)', async () => {
      const slug = await createCampaign(app(), { metadata: racing })
      await race(slug, [app()], frames, () => ({ applyOn: app(), quoteOn: app() }))
    })

    it('rejects the pending referral of a person erased: a later rule change never credits it', async () => {
      const slug = await createCampaign(app(), {
        metadata: { custom_rules: { referral_qualifies_on: 'quote.submit', referral_milestones: [1, 2] } },
      })
      const db = app().platform.database.db
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy] = [await join(app(), slug, 'Bob'), await join(app(), slug, 'Cy')]
      for (const p of [bob, cy]) assert.equal(await apply(app(), slug, p, ada.user.referral_code), 'pending')
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 0, pending: 2 })
      await erase(app(), bob)
      assert.deepEqual(await state(db, slug, bob), { state: 'rejected', reason: 'erased' })
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 0, pending: 1 })
      // Erased again (the hooks run again): nothing moves twice.
      await erase(app(), bob)
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 0, pending: 1 })

      // Every pending referral qualifies at join now: Cy's does, Bob's (erased) does not.
      await patch(app(), slug, {
        custom_rules: { referral_qualifies_on: 'register', referral_milestones: [1, 2] },
      })
      await eventually(async () => (await state(db, slug, cy)).state === 'qualified', 'Cy qualifies')
      await rechecked(db, slug)
      assert.deepEqual(await state(db, slug, bob), { state: 'rejected', reason: 'erased' })
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 1, pending: 0 })
      assert.equal(await campaignQualified(app(), slug), 1)
      const audit = json(
        await app().inject({
          method: 'GET',
          url: `/api/campaign/${slug}/referrals/audit`,
          headers: adminHeaders,
        }),
      ).entries as Array<Record<string, unknown>>
      const erasedEntries = audit.filter((e) => e.reason === 'erased')
      assert.equal(erasedEntries.length, 1)
      assert.deepEqual(
        [erasedEntries[0]!.from_state, erasedEntries[0]!.to_state, erasedEntries[0]!.actor],
        ['pending', 'rejected', 'system'],
      )
      await eventually(async () => milestones(frames, slug).length >= 1, 'the first milestone')
      assert.deepEqual(milestones(frames, slug), [1])
    })

    it('rejects, at a rule change, a referral left pending by an erasure before this release', async () => {
      const slug = await createCampaign(app(), { metadata: rule('quote.submit') })
      const db = app().platform.database.db
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy] = [await join(app(), slug, 'Bob'), await join(app(), slug, 'Cy')]
      for (const p of [bob, cy]) assert.equal(await apply(app(), slug, p, ada.user.referral_code), 'pending')
      await quote(app(), slug, bob)
      await eventually(async () => (await state(db, slug, bob)).state === 'qualified', 'Bob qualifies')
      const dee = await join(app(), slug, 'Dee')
      assert.equal(await apply(app(), slug, dee, ada.user.referral_code), 'pending')
      // Dee erased as the release before this one did: her referral left pending.
      await db
        .updateTable('service_user_master')
        .set({ erased_at: new Date() })
        .where('id', '=', dee.user.id)
        .execute()
      await patch(app(), slug, rule('register'))
      await eventually(async () => (await state(db, slug, cy)).state === 'qualified', 'Cy qualifies')
      await rechecked(db, slug)
      assert.deepEqual(await state(db, slug, dee), { state: 'rejected', reason: 'erased' })
      assert.deepEqual(await state(db, slug, bob), { state: 'qualified', reason: null })
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 2, pending: 0 })
      assert.equal(await campaignQualified(app(), slug), 2)
    })

    it('forgets what an erased person typed in their refused attempts, and keeps the refusals', async () => {
      const slug = await createCampaign(app())
      const ada = await join(app(), slug, 'Ada')
      const bob = await join(app(), slug, 'Bob')
      const typed = `bob.${randomBytes(3).toString('hex')}@example.org`
      const attempt = (code: string) =>
        app().inject({
          method: 'POST',
          url: '/api/referral',
          headers: { authorization: `Bearer ${bob.token}`, 'x-forwarded-for': ip() },
          payload: { campaign: slug, code },
        })
      assert.equal((await attempt(typed)).statusCode, 404)
      assert.equal((await attempt(bob.user.referral_code)).statusCode, 422)
      assert.equal((await attempt(ada.user.referral_code)).statusCode, 200)
      const audit = async () =>
        json(
          await app().inject({
            method: 'GET',
            url: `/api/campaign/${slug}/referrals/audit`,
            headers: adminHeaders,
          }),
        ).entries as Array<{ code: string; to_state: string; reason: string | null; actor: string }>
      assert.ok(JSON.stringify(await audit()).includes(typed.toUpperCase()))
      await erase(app(), bob)
      const after = await audit()
      assert.equal(JSON.stringify(after).toLowerCase().includes(typed), false, JSON.stringify(after))
      assert.deepEqual(
        after
          .filter((e) => e.to_state === 'refused')
          .map((e) => [e.code, e.reason])
          .sort(),
        [
          ['', 'OWN_REFERRAL_CODE'],
          ['', 'UNKNOWN_REFERRAL_CODE'],
        ],
      )
      // The referral Bob made keeps the code he was referred with (Ada's, not his).
      assert.ok(after.some((e) => e.to_state === 'qualified' && e.code === ada.user.referral_code))
    })

    it('leaves no referral pending of a person erased while applying (30 at once)', async () => {
      const slug = await createCampaign(app(), { metadata: racing })
      const db = app().platform.database.db
      const ada = await join(app(), slug, 'Ada')
      const people = await Promise.all(Array.from({ length: 30 }, () => join(app(), slug)))
      await Promise.all(
        people.map(async (p) => {
          const [applied] = await Promise.all([
            app().inject({
              method: 'POST',
              url: '/api/referral',
              headers: { authorization: `Bearer ${p.token}`, 'x-forwarded-for': ip() },
              payload: { campaign: slug, code: ada.user.referral_code },
            }),
            erase(app(), p),
          ])
          // Before the erasure (then rejected by it), or refused after it.
          assert.ok([200, 401, 403].includes(applied.statusCode), applied.body)
        }),
      )
      const rows = await db
        .selectFrom('service_referral_main')
        .select(['state', 'reason'])
        .where('campaign_slug', '=', slug)
        .execute()
      for (const r of rows) assert.deepEqual(r, { state: 'rejected', reason: 'erased' })
      assert.equal((await counter(db, slug, ada.user.id).catch(() => ({ pending: 0 }))).pending, 0)
    })
  })
}

describe('an apply racing the qualifying action on two nodes (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('qualifies every referral once, whichever node takes the apply and the quote', () =>
    onTwoPostgresNodes(async (first, second) => {
      const frames: RealtimeMessage[] = []
      await captureFrames(first.app, (m) => frames.push(m))
      await captureFrames(second.app, (m) => frames.push(m))
      const slug = await createCampaign(first.app, { metadata: racing })
      await race(slug, [first.app, second.app], frames, (i) =>
        i % 2 ? { applyOn: first.app, quoteOn: second.app } : { applyOn: second.app, quoteOn: first.app },
      )
    }))
})
