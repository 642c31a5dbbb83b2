import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import {
  createMilestoneAnnouncer,
  type MilestoneAnnouncerOptions,
} from '../src/modules/referral/referral.milestones.js'
import { createUserService } from '../src/modules/user/user.service.js'
import { createDatabase, type Db } from '../src/platform/db/database.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import type { OutboundFrame, RealtimePublisher } from '../src/realtime/publish.js'
import {
  buildTestApp,
  captureFrames,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  type TestContext,
} from './helper.js'
import { baseUrl, connect, type TestClient } from './realtime/client.js'

// A milestone is claimed exactly once as its referral commits, and now announced durably: marked
// once its `referral.milestone` went out, and announced by a sweep (any node) when that failed.

const mail = () => `m_${randomBytes(4).toString('hex')}@example.com`

async function join(app: FastifyInstance, campaign: string, name = 'Person') {
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: { 'x-forwarded-for': `10.7.${randomBytes(1)[0]}.${randomBytes(1)[0]}` },
    payload: { campaign, email: mail(), name },
  })
  assert.equal(res.statusCode, 201, res.body)
  return json<{ user: { id: string; referral_code: string }; token: string }>(res)
}

async function refer(app: FastifyInstance, campaign: string, code: string) {
  const who = await join(app, campaign)
  const res = await app.inject({
    method: 'POST',
    url: '/api/referral',
    headers: { authorization: `Bearer ${who.token}`, 'x-forwarded-for': '10.6.6.6' },
    payload: { campaign, code },
  })
  assert.equal(res.statusCode, 200, res.body)
}

const isMilestone = (frame: OutboundFrame, campaign: string) =>
  frame.type === 'campaign_event' && frame.event === 'referral.milestone' && frame.campaign_id === campaign

/** A sweep as the app runs it, on `db` (a node's pool) and through `publisher`. */
function sweeper(
  app: FastifyInstance,
  db: Db,
  publisher: RealtimePublisher = app.publisher,
  options: MilestoneAnnouncerOptions = {},
) {
  const users = createUserService({
    db,
    tokens: app.platform.tokens,
    publisher,
    limiter: createRateLimiter(),
  })
  return createMilestoneAnnouncer({ db, users, publisher }, options)
}

/** Every unannounced milestone of the campaign: its lease has run out, or is held for an hour. */
async function leaseEnds(db: Db, campaign: string, when: 'passed' | 'later') {
  const at = when === 'passed' ? sql`now() - interval '1 second'` : sql`now() + interval '1 hour'`
  await sql`update service_referral_milestone set announce_after = ${at}
            where campaign_slug = ${campaign} and announced_at is null`.execute(db)
}

async function milestones(db: Db, campaign: string) {
  return db
    .selectFrom('service_referral_milestone')
    .select(['user_id', 'threshold', 'announced_at'])
    .where('campaign_slug', '=', campaign)
    .orderBy('user_id')
    .orderBy('threshold')
    .execute()
}

/** Make the app's publisher refuse `referral.milestone` frames of `campaign` while `failing()`. */
function failMilestones(app: FastifyInstance, campaign: string, failing: () => boolean) {
  const publisher = app.publisher
  const original = publisher.publish
  publisher.publish = async (audience, frame) => {
    if (failing() && isMilestone(frame, campaign)) throw new Error('bus unreachable')
    return original.call(publisher, audience, frame)
  }
  return () => {
    publisher.publish = original
  }
}

for (const dialect of DIALECTS) {
  describe(`durable referral milestones (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let db: Db
    const frames: OutboundFrame[] = []
    const published = (campaign: string) =>
      frames
        .filter((f) => isMilestone(f, campaign))
        .map((f) => (f.payload as { threshold: number }).threshold)

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
      db = app.platform.database.db
      await app.listen({ port: 0, host: '127.0.0.1' })
      await captureFrames(app, (m) => frames.push(m.frame))
    })
    after(() => ctx.close())

    it('announces a milestone once as its referral commits, and marks it announced', async () => {
      const slug = await createCampaign(app, { metadata: { custom_rules: { referral_milestones: [1, 2] } } })
      const ada = await join(app, slug, 'Ada')
      // A sweep (another node's) runs while the request is about to announce its milestone.
      const publisher = app.publisher
      const original = publisher.publish
      let raced: Promise<number> | undefined
      publisher.publish = async (audience, frame) => {
        if (isMilestone(frame, slug)) {
          raced ??= sweeper(app, db, { publish: async (_a, f) => void frames.push(f) }).sweep()
          await raced
        }
        return original.call(publisher, audience, frame)
      }
      try {
        await refer(app, slug, ada.user.referral_code)
      } finally {
        publisher.publish = original
      }
      assert.equal(await raced, 0, 'the sweep left it to the request that claimed it')
      await refer(app, slug, ada.user.referral_code)
      assert.deepEqual(published(slug), [1, 2])
      const rows = await milestones(db, slug)
      assert.deepEqual(
        rows.map((r) => r.threshold),
        [1, 2],
      )
      assert.ok(
        rows.every((r) => r.announced_at instanceof Date),
        'both are marked announced',
      )
      // Long after: no sweep announces them again.
      await leaseEnds(db, slug, 'passed')
      assert.equal(await sweeper(app, db).sweep(), 0)
      assert.deepEqual(published(slug), [1, 2])
    })

    it('announces a milestone whose publish failed on a later sweep, exactly once', async () => {
      const slug = await createCampaign(app, { metadata: { custom_rules: { referral_milestones: [1] } } })
      const ada = await join(app, slug, 'Ada')
      const guest = await guestToken(app)
      const socket: TestClient = await connect(`${baseUrl(app)}/ws/${slug}/guest?token=${guest.token}`)
      try {
        let failing = true
        const restore = failMilestones(app, slug, () => failing)
        try {
          // The referral commits (200); its milestone's publish fails.
          await refer(app, slug, ada.user.referral_code)
        } finally {
          failing = false
          restore()
        }
        assert.deepEqual(published(slug), [])
        const [row] = await milestones(db, slug)
        assert.equal(row?.announced_at, null, 'claimed, not announced')

        // Within its lease, the request that claimed it may still announce it: no sweep takes it.
        await leaseEnds(db, slug, 'later')
        assert.equal(await sweeper(app, db).sweep(), 0)
        assert.deepEqual(published(slug), [])

        await leaseEnds(db, slug, 'passed')
        assert.equal(await sweeper(app, db).sweep(), 1)
        const event = await socket.next(
          (f) => f.type === 'campaign_event' && f.event === 'referral.milestone',
        )
        assert.deepEqual(event.payload, {
          user_display_name: 'Ada',
          count: 1,
          threshold: 1,
          message: 'Ada now has 1 referral',
        })
        assert.ok((await milestones(db, slug))[0]!.announced_at instanceof Date)

        await leaseEnds(db, slug, 'passed')
        assert.equal(await sweeper(app, db).sweep(), 0, 'announced once, not on every sweep')
        assert.deepEqual(published(slug), [1])
      } finally {
        socket.close()
      }
    })

    it('announces each milestone once when two sweeps race for them, on two connections', async () => {
      const slug = await createCampaign(app, {
        metadata: { custom_rules: { referral_milestones: [1, 2, 3], max_referrals_per_ip: 1000 } },
      })
      const restore = failMilestones(app, slug, () => true)
      try {
        for (const name of ['Ada', 'Bo', 'Cy']) {
          const referrer = await join(app, slug, name)
          for (let i = 0; i < 3; i++) await refer(app, slug, referrer.user.referral_code)
        }
      } finally {
        restore()
      }
      // Rows from a node still running the previous version (no announcement columns given):
      // that node announced them itself, so no sweep does.
      await sql`insert into service_referral_milestone (campaign_slug, user_id, threshold, count)
                values (${slug}, 'user_old_node', 1, 1)`.execute(db)
      assert.equal((await milestones(db, slug)).filter((r) => r.announced_at === null).length, 9)
      assert.deepEqual(published(slug), [])
      await leaseEnds(db, slug, 'passed')

      // The second sweeper runs on another connection (another node's pool on PostgreSQL).
      const other =
        dialect === 'postgres' ? await createDatabase({ ...ctx.config, DATABASE_POOL_SIZE: 2 }) : undefined
      try {
        const got: Array<[string, number]> = []
        const recorder = (who: string, onPublish?: () => Promise<void>): RealtimePublisher => ({
          async publish(_audience, frame) {
            await onPublish?.()
            got.push([who, (frame.payload as { threshold: number }).threshold])
          },
        })
        const second = sweeper(app, other?.db ?? db, recorder('second'))
        // The second sweep runs from start to end while the first holds the rows it took, unannounced.
        let raced: Promise<number> | undefined
        const first = sweeper(
          app,
          db,
          recorder('first', async () => {
            raced ??= second.sweep()
            await raced
          }),
        )
        assert.equal(await first.sweep(), 9)
        assert.equal(await raced, 0, 'the second sweep left the rows the first had taken')
        assert.deepEqual(got.map(([, t]) => t).sort(), [1, 1, 1, 2, 2, 2, 3, 3, 3])
        assert.ok(got.every(([who]) => who === 'first'))
        assert.ok(
          (await milestones(db, slug)).every((r) => r.announced_at instanceof Date),
          'all marked announced',
        )
        await leaseEnds(db, slug, 'passed')
        assert.equal((await first.sweep()) + (await second.sweep()), 0)

        // Side by side, a row at a time: each is still announced by one of them only.
        await sql`update service_referral_milestone set announced_at = null, announce_after = now()
                  where campaign_slug = ${slug} and user_id <> 'user_old_node'`.execute(db)
        got.length = 0
        const oneAtATime = (who: string, on: Db) => sweeper(app, on, recorder(who), { batchSize: 1 })
        const drain = async (s: ReturnType<typeof oneAtATime>) => {
          while ((await s.sweep()) > 0);
        }
        await Promise.all([drain(oneAtATime('a', db)), drain(oneAtATime('b', other?.db ?? db))])
        assert.deepEqual(
          got.map(([, t]) => t).sort(),
          [1, 1, 1, 2, 2, 2, 3, 3, 3],
          'nine announcements, one each',
        )
      } finally {
        await other?.close()
      }
    })
  })
}
