import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import { FEATURES } from '../src/modules/campaign/campaign.schema.js'
import type { ReferralService } from '../src/modules/referral/referral.service.js'
import type { Db } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { clientNetwork } from '../src/platform/http/client-network.js'
import type { RealtimePublisher } from '../src/realtime/publish.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  freshPostgres,
  json,
  suiteApp,
  withDatabase,
} from './helper.js'
import { migrateBefore } from './migrate-before.js'
import { ip } from './people-fixtures.js'
import {
  campaignQualified,
  counter,
  eventually,
  type Joined,
  join,
  quote,
  rechecked,
  state,
  detachedReferralService,
  didAction,
  seedPending,
} from './referral-fixtures.js'

// Referral qualifications lost between the qualifying action's commit and the call that records
// them (the node died, the call failed), caught up by any node; and erasure reaching the per-code
// per-network counts.

const CATCH_UP_REASON = 'action_caught_up'

/** The milestone rows of `userId` in `slug`. */
const milestoneRows = (db: Db, slug: string, userId: string) =>
  db
    .selectFrom('service_referral_milestone')
    .select(['threshold', 'count', 'announced_at'])
    .where('campaign_slug', '=', slug)
    .where('user_id', '=', userId)
    .execute()

const qualifiedAudit = async (db: Db, slug: string) =>
  (
    await db
      .selectFrom('service_referral_audit')
      .select(['actor', 'reason'])
      .where('campaign_slug', '=', slug)
      .where('to_state', '=', 'qualified')
      .execute()
  ).map((r) => `${r.actor}:${r.reason}`)

/** `POST /api/referral` from `address` (the per-code per-network cap reads it). */
async function applyFrom(app: FastifyInstance, slug: string, who: Joined, code: string, address: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/referral',
    headers: { authorization: `Bearer ${who.token}`, 'x-forwarded-for': address },
    payload: { campaign: slug, code },
  })
  assert.equal(res.statusCode, 200, res.body)
}

/** Where the campaign's catch-up got, read while no app runs. */
async function caughtUpAt(url: string, slug: string): Promise<Date> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query(
      'select caught_up_at from service_referral_recheck where campaign_slug = $1',
      [slug],
    )
    return rows[0].caught_up_at
  } finally {
    await client.end()
  }
}

describe('a qualification lost when the node died after the action committed (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  it('is caught up by the restarted app, once, milestone included', async () => {
    const fresh = await freshPostgres()
    try {
      const first = await buildTestApp({ databaseUrl: fresh.url })
      // Set on the first node, read on the nodes after it.
      let slug!: string
      let ada!: Joined
      let bob!: Joined
      try {
        const db = first.app.platform.database.db
        slug = await createCampaign(first.app, {
          metadata: { custom_rules: { referral_qualifies_on: 'quote.submit', referral_milestones: [1, 2] } },
        })
        await rechecked(db, slug)
        ada = await join(first.app, slug, 'Ada')
        bob = await join(first.app, slug, 'Bob')
        await applyFrom(first.app, slug, bob, ada.user.referral_code, ip())
        assert.equal((await state(db, slug, bob)).state, 'pending')
        // From here on, this node's every write to a referral fails: what runs after the quote's
        // commit (and any catch-up of this node's) dies as a crash would end it.
        await sql`create function referral_node_died() returns trigger language plpgsql
                  as $$ begin raise exception 'the node died'; end $$`.execute(db)
        await sql`create trigger referral_node_died before update on service_referral_main
                  for each row execute function referral_node_died()`.execute(db)
        await quote(first.app, slug, bob)
      } finally {
        // The node is gone: nothing of it runs any more (its pool is closed).
        await first.close()
      }
      const admin = new pg.Client({ connectionString: fresh.url })
      await admin.connect()
      try {
        assert.equal(
          (await admin.query(`select state from service_referral_main where referred_id = $1`, [bob.user.id]))
            .rows[0].state,
          'pending',
        )
        await admin.query('drop trigger referral_node_died on service_referral_main')
      } finally {
        await admin.end()
      }

      // The app starts again on the same database: its catch-up qualifies Bob.
      const second = await buildTestApp({ databaseUrl: fresh.url })
      try {
        const db = second.app.platform.database.db
        await eventually(
          async () => (await state(db, slug, bob)).state === 'qualified',
          'Bob’s referral is caught up',
        )
        assert.deepEqual(await state(db, slug, bob), { state: 'qualified', reason: CATCH_UP_REASON })
        assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 1, pending: 0 })
        assert.equal(await campaignQualified(second.app, slug), 1)
        assert.deepEqual(await qualifiedAudit(db, slug), [`system:${CATCH_UP_REASON}`])
        await eventually(
          async () => (await milestoneRows(db, slug, ada.user.id)).every((m) => m.announced_at !== null),
          'the milestone is announced',
        )
        const reached = await milestoneRows(db, slug, ada.user.id)
        assert.deepEqual(
          reached.map((m) => [m.threshold, m.count]),
          [[1, 1]],
        )
      } finally {
        await second.close()
      }

      // Started once more: the catch-up runs again and finds nothing left to do.
      const before = await caughtUpAt(fresh.url, slug)
      const third = await buildTestApp({ databaseUrl: fresh.url })
      try {
        const db = third.app.platform.database.db
        await eventually(async () => {
          const now = await db
            .selectFrom('service_referral_recheck')
            .select(sql<Date>`caught_up_at`.as('at'))
            .where('campaign_slug', '=', slug)
            .executeTakeFirstOrThrow()
          return now.at.getTime() > before.getTime()
        }, 'the third start’s catch-up ran')
        assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 1, pending: 0 })
        assert.equal(await campaignQualified(third.app, slug), 1)
        assert.deepEqual(await qualifiedAudit(db, slug), [`system:${CATCH_UP_REASON}`])
        assert.equal((await milestoneRows(db, slug, ada.user.id)).length, 1)
        // A later quote of Bob's changes nothing either.
        await quote(third.app, slug, bob)
        assert.deepEqual(await counter(db, slug, ada.user.id), { qualified: 1, pending: 0 })
      } finally {
        await third.close()
      }
    } finally {
      await fresh.drop()
    }
  })
})

/** A campaign qualifying on `quote.submit` and `n` people referred by `ref1`, pending, straight into the tables. */
const seed = (db: Db, n: number) =>
  seedPending(db, n, { referral_qualifies_on: 'quote.submit', referral_milestones: [1, 2] })

/** A node's referral service on `db`, its sweeps run by hand, publishing into `published`. */
function node(db: Db, published: string[]): ReferralService {
  const publisher: RealtimePublisher = {
    publish: async (_audience, frame) => {
      const f = frame as { event?: string; payload?: { threshold?: number } }
      if (f.event === 'referral.milestone') published.push(`${f.payload?.threshold}`)
    },
  }
  return detachedReferralService(db, { publisher, catchUp: { batchSize: 2 } })
}

for (const dialect of DIALECTS) {
  describe(`the catch-up of lost qualifications (${dialect})`, () => {
    it('qualifies each referral whose action committed unrecorded once, on two nodes at once', () =>
      withDatabase(dialect, async (database) => {
        const db = database.db
        await migrateToLatest(db)
        const slug = await seed(db, 4)
        const published: string[] = []
        const [a, b] = [node(db, published), node(db, published)]
        // The rule is recorded (nobody did anything yet).
        assert.equal(await a.campaignChanged(slug), 0)
        // p0, p1 (under the alias) and p3 quoted; each node died before recording it.
        await didAction(db, slug, 'p0', 'quote.submit')
        await didAction(db, slug, 'p1', 'submit_quote')
        await didAction(db, slug, 'p3', 'quote.submit')
        const swept = await Promise.all([a.sweepCatchUp(), b.sweepCatchUp()])
        // One node may have found the campaign held by the other and left it to it.
        assert.equal(swept[0] + swept[1], 3)
        const states = await db
          .selectFrom('service_referral_main')
          .select(['referred_id', 'state', 'reason'])
          .where('campaign_slug', '=', slug)
          .orderBy('id')
          .execute()
        assert.deepEqual(
          states.map((s) => `${s.referred_id}:${s.state}:${s.reason}`),
          [
            `p0:qualified:${CATCH_UP_REASON}`,
            `p1:qualified:${CATCH_UP_REASON}`,
            'p2:pending:null',
            `p3:qualified:${CATCH_UP_REASON}`,
          ],
        )
        assert.deepEqual(await counter(db, slug, 'ref1'), { qualified: 3, pending: 1 })
        assert.deepEqual(
          (await milestoneRows(db, slug, 'ref1')).map((m) => m.threshold),
          [1, 2],
        )
        assert.deepEqual(published.sort(), ['1', '2'])
        // Again, on both: nothing more.
        assert.deepEqual(await Promise.all([a.sweepCatchUp(), b.sweepCatchUp()]), [0, 0])
        assert.deepEqual(await counter(db, slug, 'ref1'), { qualified: 3, pending: 1 })
        assert.deepEqual(published.sort(), ['1', '2'])
        const counted = await db
          .selectFrom('service_campaign_counter')
          .select((eb) => eb.fn.sum<string>('count').as('n'))
          .where('campaign_slug', '=', slug)
          .where('name', '=', 'referrals_qualified')
          .executeTakeFirstOrThrow()
        assert.equal(Number(counted.n), 3)
      }))

    it('leaves campaigns whose referrals qualify at apply alone', () =>
      withDatabase(dialect, async (database) => {
        const db = database.db
        await migrateToLatest(db)
        const slug = await seed(db, 1)
        await db
          .updateTable('service_campaign_main')
          .set({
            metadata: JSON.stringify({
              features: [...FEATURES],
              custom_rules: { referral_qualifies_on: 'register' },
            }),
          })
          .where('slug', '=', slug)
          .execute()
        const published: string[] = []
        const a = node(db, published)
        // The first look's pass qualifies the pending one (`register`); the catch-up has nothing.
        assert.equal(await a.campaignChanged(slug), 1)
        await didAction(db, slug, 'p0', 'quote.submit')
        assert.equal(await a.sweepCatchUp(), 0)
      }))
  })
}

/** The hash the referral tables keep of `address` in `slug` (as referral.service.ts makes it). */
const networkHash = (slug: string, address: string) =>
  createHash('sha256')
    .update(`${slug}\u0000${clientNetwork(address)}`)
    .digest('hex')
    .slice(0, 32)

async function erase(app: FastifyInstance, who: Joined) {
  const res = await app.inject({ method: 'DELETE', url: `/api/user/${who.user.id}`, headers: adminHeaders })
  assert.equal(res.statusCode, 200, res.body)
}

const ipCounts = async (db: Db, slug: string) =>
  Object.fromEntries(
    (
      await db
        .selectFrom('service_referral_ipcount')
        .select(['ip_hash', 'count'])
        .where('campaign_slug', '=', slug)
        .execute()
    ).map((r) => [r.ip_hash, r.count]),
  )

for (const dialect of DIALECTS) {
  describe(`erasure and the per-network referral counts (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('clears the erased person’s hash from their referral, and keeps their unit in the fraud cap', async () => {
      const app = suite.app
      const db = app.platform.database.db
      const slug = await createCampaign(app, {
        metadata: { custom_rules: { max_referrals_per_ip: 2 } },
      })
      const ada = await join(app, slug, 'Ada')
      const [bob, cy, dee] = [
        await join(app, slug, 'Bob'),
        await join(app, slug, 'Cy'),
        await join(app, slug, 'Dee'),
      ]
      // Bob and Cy from one office network: the cap of 2 is reached.
      const office = ip()
      const officeHash = networkHash(slug, office)
      await applyFrom(app, slug, bob, ada.user.referral_code, office)
      await applyFrom(app, slug, cy, ada.user.referral_code, office)
      assert.deepEqual(await ipCounts(db, slug), { [officeHash]: 2 })

      // Bob is erased: his referral no longer holds the network's hash, the count keeps his unit.
      await erase(app, bob)
      const holding = await db
        .selectFrom('service_referral_main')
        .select('referred_id')
        .where('ip_hash', '=', officeHash)
        .execute()
      assert.deepEqual(
        holding.map((r) => r.referred_id),
        [cy.user.id],
      )
      assert.deepEqual(await ipCounts(db, slug), { [officeHash]: 2 })

      // So erasing does not hand the network a slot back: the cap still refuses the next one.
      const refused = await app.inject({
        method: 'POST',
        url: '/api/referral',
        headers: { authorization: `Bearer ${dee.token}`, 'x-forwarded-for': office },
        payload: { campaign: slug, code: ada.user.referral_code },
      })
      assert.equal(refused.statusCode, 422, refused.body)
      assert.equal(json(refused).error.code, 'REFERRAL_IP_LIMIT_REACHED')
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`migration 028 (${dialect})`, () => {
    it('adds the catch-up mark', () =>
      withDatabase(dialect, async ({ db }) => {
        await migrateBefore(db, '028_referral_catch_up')
        assert.equal((await migrateToLatest(db))[0], '028_referral_catch_up')
        const { rows: columns } = await sql<{ name: string }>`
          select column_name as name from information_schema.columns
          where table_name = 'service_referral_recheck' and column_name = 'caught_up_at'`.execute(db)
        assert.equal(columns.length, 1)
      }))
  })
}
