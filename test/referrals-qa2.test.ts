import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import type { ReferralService } from '../src/modules/referral/referral.service.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import type { RealtimeMessage, RealtimePublisher } from '../src/realtime/publish.js'
import {
  adminHeaders,
  captureFrames,
  createCampaign,
  DIALECTS,
  type Dialect,
  json,
  onTwoPostgresNodes,
  withDatabase,
} from './helper.js'
import {
  apply,
  campaignQualified,
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
  capturingFrames,
  detachedReferralService,
  didAction,
  seedPending,
} from './referral-fixtures.js'
import { realtimeSuite } from './realtime/fixtures.js'

// Referrals when a campaign's rule changes under them: `referral_qualifies_on` edited on a live
// campaign, the referral feature switched off and on, rule aliases, and the same on two nodes.

for (const dialect of DIALECTS) {
  describe(`referrals when their rule changes (${dialect})`, () => {
    const { app, frames } = capturingFrames(realtimeSuite({ dialect }))
    const db = () => app().platform.database.db

    it('qualifies the pending referrals whose person already did the new rule’s action, once', async () => {
      const slug = await createCampaign(app(), {
        metadata: {
          custom_rules: { referral_qualifies_on: 'tour.finished', referral_milestones: [1, 2, 3] },
        },
      })
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy, dee] = [await join(app(), slug), await join(app(), slug), await join(app(), slug)]
      for (const p of [bob, cy, dee])
        assert.equal(await apply(app(), slug, p, ada.user.referral_code), 'pending')
      // Quotes under the old rule: nothing qualifies yet.
      await quote(app(), slug, bob)
      await quote(app(), slug, cy, 'submit_quote')
      assert.equal((await state(db(), slug, bob)).state, 'pending')

      await patch(app(), slug, rule('quote.submit'))
      await eventually(
        async () => (await counter(db(), slug, ada.user.id)).qualified === 2,
        'Bob and Cy qualify under the new rule',
      )
      assert.deepEqual(await state(db(), slug, bob), { state: 'qualified', reason: 'rules_changed' })
      assert.deepEqual(await state(db(), slug, cy), { state: 'qualified', reason: 'rules_changed' })
      assert.deepEqual(await state(db(), slug, dee), { state: 'pending', reason: null })
      assert.deepEqual(await counter(db(), slug, ada.user.id), { qualified: 2, pending: 1 })
      assert.equal(await campaignQualified(app(), slug), 2)
      const audit = json(
        await app().inject({
          method: 'GET',
          url: `/api/campaign/${slug}/referrals/audit`,
          headers: adminHeaders,
        }),
      ).entries as Array<Record<string, unknown>>
      const byRecheck = audit.filter((e) => e.reason === 'rules_changed')
      assert.equal(byRecheck.length, 2)
      for (const e of byRecheck)
        assert.deepEqual([e.from_state, e.to_state, e.actor], ['pending', 'qualified', 'system'])

      // Dee waits under the new rule, and qualifies on it as usual.
      await quote(app(), slug, dee)
      await eventually(async () => (await state(db(), slug, dee)).state === 'qualified', 'Dee qualifies')
      // Changing the rule back and forth again counts nobody twice.
      await patch(app(), slug, rule('tour.finished'))
      await patch(app(), slug, rule('register'))
      await rechecked(db(), slug)
      assert.deepEqual(await counter(db(), slug, ada.user.id), { qualified: 3, pending: 0 })
      assert.equal(await campaignQualified(app(), slug), 3)
      await eventually(async () => milestones(frames, slug).length === 3, 'three milestones')
      assert.deepEqual(milestones(frames, slug).sort(), [1, 2, 3])
    })

    it('qualifies every pending referral when the rule becomes `register`', async () => {
      const slug = await createCampaign(app(), { metadata: rule('quote.submit') })
      const ada = await join(app(), slug, 'Ada')
      const bob = await join(app(), slug)
      assert.equal(await apply(app(), slug, bob, ada.user.referral_code), 'pending')
      await patch(app(), slug, rule('register'))
      await eventually(async () => (await state(db(), slug, bob)).state === 'qualified', 'Bob qualifies')
      assert.deepEqual(await counter(db(), slug, ada.user.id), { qualified: 1, pending: 0 })
    })

    it('keeps pending referrals waiting while referrals are off, and checks them when back on', async () => {
      const slug = await createCampaign(app(), { metadata: rule('quote.submit') })
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy] = [await join(app(), slug), await join(app(), slug)]
      for (const p of [bob, cy]) assert.equal(await apply(app(), slug, p, ada.user.referral_code), 'pending')
      await patch(app(), slug, { features: FEATURES.filter((f) => f !== 'referral') })
      await quote(app(), slug, bob)
      // Give a wrongly qualifying listener its chance: a second action of Bob's, then the sweep.
      await quote(app(), slug, bob)
      await rechecked(db(), slug)
      assert.deepEqual(await state(db(), slug, bob), { state: 'pending', reason: null })
      await patch(app(), slug, { features: [...FEATURES] })
      await eventually(async () => (await state(db(), slug, bob)).state === 'qualified', 'Bob qualifies')
      assert.deepEqual(await state(db(), slug, bob), { state: 'qualified', reason: 'rules_changed' })
      assert.deepEqual(await state(db(), slug, cy), { state: 'pending', reason: null })
      assert.deepEqual(await counter(db(), slug, ada.user.id), { qualified: 1, pending: 1 })
    })

    it('qualifies on a rule naming an alias whichever name the action is sent under', async () => {
      const slug = await createCampaign(app(), { metadata: rule('submit_quote') })
      const ada = await join(app(), slug, 'Ada')
      const bob = await join(app(), slug)
      assert.equal(await apply(app(), slug, bob, ada.user.referral_code), 'pending')
      await quote(app(), slug, bob, 'quote.submit')
      await eventually(async () => (await state(db(), slug, bob)).state === 'qualified', 'Bob qualifies')
      assert.deepEqual(await state(db(), slug, bob), { state: 'qualified', reason: null })
    })

    it('qualifies at once a person who already did the rule’s action before applying the code', async () => {
      const slug = await createCampaign(app(), { metadata: rule('quote.submit') })
      const ada = await join(app(), slug, 'Ada')
      const [bob, cy] = [await join(app(), slug), await join(app(), slug)]
      await quote(app(), slug, bob, 'submit_quote')
      assert.equal(await apply(app(), slug, bob, ada.user.referral_code), 'qualified')
      assert.equal(await apply(app(), slug, cy, ada.user.referral_code), 'pending')
      assert.deepEqual(await counter(db(), slug, ada.user.id), { qualified: 1, pending: 1 })
    })
  })

  describe(`referral rechecks in batches, and their second pass (${dialect})`, () => {
    it('goes through a campaign in batches and catches, in its second pass, what a stale node missed', () =>
      withDatabase(dialect, async (database) => {
        await migrateToLatest(database.db)
        await recheckScenario(database.db, dialect)
      }))
  })
}

/** A campaign, `n` people referred by `ref1` pending under `tour.finished`, straight into the tables. */
const seed = (db: Db, n: number) =>
  seedPending(db, n, { referral_qualifies_on: 'tour.finished', referral_milestones: [2] })

async function setRule(db: Db, slug: string, on: string) {
  await db
    .updateTable('service_campaign_main')
    .set({
      metadata: JSON.stringify({
        features: [...FEATURES],
        custom_rules: { referral_qualifies_on: on, referral_milestones: [2] },
      }),
      version: (eb) => eb('version', '+', 1),
    })
    .where('slug', '=', slug)
    .execute()
}

const states = async (db: Db, slug: string) =>
  (
    await db
      .selectFrom('service_referral_main')
      .select(['referred_id', 'state'])
      .where('campaign_slug', '=', slug)
      .orderBy('id')
      .execute()
  ).map((r) => `${r.referred_id}:${r.state}`)

/** Another node's referral service on `db` (the registry's answer for the quote action, as app.ts passes the real one). */
const service = (
  db: Db,
  options: { batchSize: number; settleMs: number },
  publisher: RealtimePublisher = { publish: async () => {} },
): ReferralService => detachedReferralService(db, { publisher, recheck: options })

async function recheckScenario(db: Db, dialect: Dialect) {
  const slug = await seed(db, 7)
  // p0, p2, p4, p5 did the action the new rule names (p5 under its alias); the others did not.
  for (const p of ['p0', 'p2', 'p4']) await didAction(db, slug, p, 'quote.submit')
  await didAction(db, slug, 'p5', 'submit_quote')
  const referrals = service(db, { batchSize: 2, settleMs: 60_000 })
  // The first look records the rule the campaign has (a pass over it: nobody did `tour.finished`).
  assert.equal(await referrals.campaignChanged(slug), 0)
  await setRule(db, slug, 'quote.submit')

  if (dialect === 'postgres') {
    // Batches commit one by one: with p5's row held by another connection, the batch that
    // reaches it waits, and what the batches before it qualified is already committed.
    const url = process.env.DATABASE_URL!
    const other = new pg.Client({ connectionString: await databaseUrlOf(db, url) })
    await other.connect()
    try {
      await other.query('begin')
      await other.query(
        `select 1 from service_referral_main where campaign_slug = $1 and referred_id = 'p5' for update`,
        [slug],
      )
      const running = referrals.campaignChanged(slug)
      await eventually(
        async () => (await states(db, slug)).filter((s) => s.endsWith(':qualified')).length === 2,
        'the first two batches commit while the third waits',
      )
      assert.deepEqual((await states(db, slug)).slice(0, 4), [
        'p0:qualified',
        'p1:pending',
        'p2:qualified',
        'p3:pending',
      ])
      await other.query('commit')
      assert.equal(await running, 4)
    } finally {
      await other.end()
    }
  } else {
    assert.equal(await referrals.campaignChanged(slug), 4)
  }
  assert.deepEqual(await states(db, slug), [
    'p0:qualified',
    'p1:pending',
    'p2:qualified',
    'p3:pending',
    'p4:qualified',
    'p5:qualified',
    'p6:pending',
  ])
  // The milestone at 2 was claimed once.
  const reached = await db
    .selectFrom('service_referral_milestone')
    .select(['threshold', 'count'])
    .where('campaign_slug', '=', slug)
    .execute()
  assert.deepEqual(reached, [{ threshold: 2, count: 2 }])

  // A node whose cached campaign still had the old rule let p6's action by: the second pass,
  // once due, qualifies it. Until then the sweep leaves it.
  await didAction(db, slug, 'p6', 'quote.submit')
  assert.equal(await referrals.sweepRechecks(), 0)
  await db
    .updateTable('service_referral_recheck')
    .set({ due_at: new Date(0) })
    .where('campaign_slug', '=', slug)
    .execute()
  // Two nodes sweeping at once: p6 counts once.
  const second = service(db, { batchSize: 2, settleMs: 60_000 })
  const swept = await Promise.all([referrals.sweepRechecks(), second.sweepRechecks()])
  assert.equal(swept[0] + swept[1], 1)
  assert.deepEqual(await counter(db, slug, 'ref1'), { qualified: 5, pending: 2 })
  const job = await db
    .selectFrom('service_referral_recheck')
    .select(['passes_left', 'qualifies_on'])
    .where('campaign_slug', '=', slug)
    .executeTakeFirstOrThrow()
  assert.deepEqual(job, { passes_left: 0, qualifies_on: 'quote.submit' })
  const counted = await db
    .selectFrom('service_campaign_counter')
    .select((eb) => eb.fn.sum<string>('count').as('n'))
    .where('campaign_slug', '=', slug)
    .where('name', '=', 'referrals_qualified')
    .executeTakeFirstOrThrow()
  assert.equal(Number(counted.n), 5)
}

/** The URL of the database `db` is connected to (withDatabase made a fresh one). */
async function databaseUrlOf(db: Db, base: string) {
  const { rows } = await (await import('kysely')).sql<{
    name: string
  }>`select current_database() as name`.execute(db)
  const url = new URL(base)
  url.pathname = `/${rows[0]!.name}`
  return url.toString()
}

describe('a rule change raced on two nodes (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('counts each referral once when two PATCHes and qualifying actions race the recheck', () =>
    onTwoPostgresNodes(async (first, second) => {
      const frames: RealtimeMessage[] = []
      await captureFrames(first.app, (m) => frames.push(m))
      await captureFrames(second.app, (m) => frames.push(m))
      const slug = await createCampaign(first.app, {
        metadata: {
          custom_rules: { referral_qualifies_on: 'tour.finished', referral_milestones: [5, 10, 15] },
        },
      })
      const ada = await join(first.app, slug, 'Ada')
      const { db } = first.app.platform.database
      // Two more nodes' services (sweeps run by hand), announcing through the apps' publishers.
      const third = service(db, { batchSize: 5, settleMs: 60_000 }, first.app.publisher)
      const fourth = service(db, { batchSize: 5, settleMs: 60_000 }, second.app.publisher)
      const people: Joined[] = []
      for (let i = 0; i < 24; i++) {
        const who = await join(i % 2 ? first.app : second.app, slug)
        assert.equal(
          await apply(i % 2 ? second.app : first.app, slug, who, ada.user.referral_code),
          'pending',
        )
        people.push(who)
      }
      // Half quoted under the old rule; of the others, half quote while the rule changes.
      for (const p of people.slice(0, 12)) await quote(first.app, slug, p)
      await Promise.all([
        patch(first.app, slug, rule('quote.submit')),
        patch(second.app, slug, rule('submit_quote')),
        ...people.slice(12, 18).map((p, i) => quote(i % 2 ? first.app : second.app, slug, p)),
        third.sweepRechecks(),
      ])
      await rechecked(db, slug)
      // Whatever a node holding the old rule missed, the second pass takes: run it now.
      await db
        .updateTable('service_referral_recheck')
        .set({ due_at: new Date(0) })
        .where('campaign_slug', '=', slug)
        .execute()
      await Promise.all([third.sweepRechecks(), fourth.sweepRechecks()])
      await eventually(
        async () => (await counter(db, slug, ada.user.id)).qualified === 18,
        'the 18 who quoted qualify',
      )
      assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 18, pending: 6 })
      for (const p of people.slice(18)) assert.equal((await state(db, slug, p)).state, 'pending')
      assert.equal(await campaignQualified(first.app, slug), 18)
      const audit = await db
        .selectFrom('service_referral_audit')
        .select(['referral_id'])
        .where('campaign_slug', '=', slug)
        .where('to_state', '=', 'qualified')
        .execute()
      assert.equal(audit.length, 18)
      assert.equal(new Set(audit.map((a) => a.referral_id)).size, 18)
      await eventually(async () => milestones(frames, slug).length >= 3, 'three milestones')
      assert.deepEqual(
        milestones(frames, slug).sort((a, b) => a - b),
        [5, 10, 15],
      )
    }))
})
