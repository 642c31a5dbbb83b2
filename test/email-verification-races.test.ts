// Email verification against what commits beside it, on PostgreSQL (two transactions at once need
// two connections): a verification committing while a join of its person is open still logs
// `email_verified` in the campaign joined, exactly once; a link being stored while the person is
// erased is not stored, so no mail goes to the address of someone erased.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { EMAIL_VERIFIED_EVENT } from '../src/modules/campaign/campaign.schema.js'
import * as verification from '../src/modules/user/email-verification.repo.js'
import { VERIFY_TTL_MS } from '../src/modules/user/email-verification.js'
import * as users from '../src/modules/user/user.repo.js'
import { startSmtpReceiver } from './fixtures/smtp-receiver.js'
import { buildTestApp, createCampaign, joinAs, json, newMember, type TestContext } from './helper.js'
import { requestWhileHolding } from './pg-lock-fixtures.js'

describe('email verification racing a join and an erasure (postgres)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL is not set',
}, () => {
  let ctx: TestContext
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>
  before(async () => {
    smtp = await startSmtpReceiver()
    ctx = await buildTestApp({
      dialect: 'postgres',
      env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://launch.example.org' },
    })
  })
  after(async () => {
    await ctx?.close()
    await smtp?.close()
  })
  const db = () => ctx.app.platform.database.db
  const verifiedEvents = (userId: string, campaign: string) =>
    db()
      .selectFrom('service_analytics_event')
      .select('event_id')
      .where('user_id', '=', userId)
      .where('campaign_slug', '=', campaign)
      .where('event', '=', EMAIL_VERIFIED_EVENT)
      .execute()

  it('logs email_verified once in a campaign joined while the verification was committing', async () => {
    const { app } = ctx
    const first = await createCampaign(app)
    const second = await createCampaign(app)
    const { email, id, token } = await newMember(app, first, 'ada')

    // What a verification link's use runs (EmailVerification.verify), held open while the person
    // joins a second campaign: the join read them unverified, and the verification cannot see a
    // membership not yet committed.
    const joinedAgain = await requestWhileHolding(
      db(),
      async (trx) => {
        const marked = await verification.markVerified(trx, id, email)
        assert.equal(marked?.now, true)
      },
      () => joinAs(app, second, email, token),
      async (trx) => {
        const logged = await verification.logVerified(
          trx,
          id,
          EMAIL_VERIFIED_EVENT,
          () => `evt_${randomBytes(8).toString('hex')}`,
        )
        assert.deepEqual(logged, [first])
      },
      'the second join',
    )
    assert.equal(joinedAgain.statusCode, 201, joinedAgain.body)
    assert.equal((await verifiedEvents(id, first)).length, 1)
    assert.equal((await verifiedEvents(id, second)).length, 1)

    // Joining again logs nothing more.
    const again = await joinAs(app, second, email, json(joinedAgain).token)
    assert.equal(again.statusCode, 200, again.body)
    assert.equal((await verifiedEvents(id, second)).length, 1)
  })

  it('stores no link, and mails none, for a person erased while it was being stored', async () => {
    const { app } = ctx
    const slug = await createCampaign(app)
    const { email, id } = await newMember(app, slug, 'grace')

    const stored = await requestWhileHolding(
      db(),
      (trx) => users.lockForErasure(trx, id),
      () =>
        verification.storeVerifyToken(
          db(),
          { userId: id, email, tokenHash: randomBytes(32).toString('hex') },
          VERIFY_TTL_MS,
        ),
      async (trx) => {
        assert.ok(await users.erase(trx, id))
      },
      'storing the link',
    )
    assert.equal(stored, false)
    const links = await db()
      .selectFrom('service_user_email_verification')
      .select('token_hash')
      .where('user_id', '=', id)
      .execute()
    assert.deepEqual(links, [])

    // Once erased, nor is one stored later (a join's mail sent after its person's erasure).
    assert.equal(
      await verification.storeVerifyToken(
        db(),
        { userId: id, email, tokenHash: 'ff'.repeat(32) },
        VERIFY_TTL_MS,
      ),
      false,
    )
    assert.equal(smtp.messages.filter((m) => m.to.includes(email)).length, 0)
  })
})
