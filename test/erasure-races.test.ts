// An erasure against what commits beside it, on PostgreSQL (two transactions at once need two
// connections). A join of the person being erased waits for the erasure and then joins nobody
// erased: the address is free, so it joins a new person. An erasure waiting for a join's lock finds
// what the join wrote, and revokes the guest session it linked.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as users from '../src/modules/user/user.repo.js'
import {
  buildTestApp,
  createCampaign,
  guestToken,
  joinAs,
  json,
  newMember,
  type TestContext,
} from './helper.js'
import { requestWhileHolding } from './pg-lock-fixtures.js'

describe('erasure racing a join (postgres)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL is not set',
}, () => {
  let ctx: TestContext
  before(async () => {
    ctx = await buildTestApp({ dialect: 'postgres' })
  })
  after(async () => {
    await ctx?.close()
  })
  const db = () => ctx.app.platform.database.db
  const memberIn = (userId: string, campaign: string) =>
    users.findMembership(db(), campaign, userId).then((m) => m !== undefined)

  it('a join while the person is being erased waits, then joins nobody erased', async () => {
    const { app } = ctx
    const first = await createCampaign(app)
    const second = await createCampaign(app)
    const { email, id, token } = await newMember(app, first, 'ada')

    // The erasure's own steps (UserService.erase), held open while the person joins a second
    // campaign with their token, which was still valid when the join read them.
    const joinedAgain = await requestWhileHolding(
      db(),
      (trx) => users.lockForErasure(trx, id),
      () => joinAs(app, second, email, token),
      async (trx) => {
        assert.ok(await users.erase(trx, id))
      },
      'the join',
    )
    assert.equal(joinedAgain.statusCode, 201, joinedAgain.body)
    const joiner = json(joinedAgain).user
    assert.notEqual(joiner.id, id, 'not the person erased')
    assert.equal(joiner.email, email, 'the address, free once they were erased')
    assert.equal(await memberIn(id, second), false)
    assert.equal(await memberIn(joiner.id, second), true)
    const erased = await users.findById(db(), id)
    assert.equal(erased?.email, null)
  })

  it('an erasure waiting for a join finds what it wrote and revokes the guest session it linked', async () => {
    const { app } = ctx
    const slug = await createCampaign(app)
    const { id, token } = await newMember(app, slug, 'grace')
    const guest = await guestToken(app)

    // A join again from another guest session (UserService.register's steps), held open while the
    // person erases themself: the erasure waits for it.
    const erasure = await requestWhileHolding(
      db(),
      async (trx) => {
        assert.equal(await users.lockUnerased(trx, id), true)
      },
      () =>
        app.inject({
          method: 'DELETE',
          url: `/api/user/${id}`,
          headers: { authorization: `Bearer ${token}` },
        }),
      (trx) => users.linkSession(trx, id, guest.session_id),
      'the erasure',
    )
    assert.equal(erasure.statusCode, 200, erasure.body)
    const revoked = await db()
      .selectFrom('service_user_revoked_session')
      .select('session_id')
      .where('session_id', '=', guest.session_id)
      .execute()
    assert.equal(revoked.length, 1, 'the guest session the join linked is revoked')

    // Once erased, nothing more is linked to them.
    assert.equal(
      await db()
        .transaction()
        .execute((trx) => users.lockUnerased(trx, id)),
      false,
    )
  })
})
