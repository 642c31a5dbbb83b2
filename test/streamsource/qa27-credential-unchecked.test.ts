import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { buildTestApp, json, type TestContext } from '../helper.js'
import { account, type TestAccount } from './helpers.js'

/**
 * When the accounts could not be read (the database failing), a good token was answered
 * 401 `Unauthorized`, as if it had been revoked: a wall or a checker drops its token on a 401 and
 * waits for someone to log it in again, though nothing was wrong with it. `/cable` already answers
 * such a check 503 (the client retries); REST now does too.
 */
describe('/api/v1 when the credential cannot be checked', { skip: !process.env.DATABASE_URL }, () => {
  let ctx: TestContext
  let reader: TestAccount
  let db: pg.Client

  before(async () => {
    ctx = await buildTestApp({ dialect: 'postgres' })
    reader = await account(ctx.app, 'default')
    db = new pg.Client({ connectionString: ctx.databaseUrl })
    await db.connect()
  })
  after(async () => {
    await db?.end()
    await ctx?.close()
  })

  const list = () => ctx.app.inject({ method: 'GET', url: '/api/v1/streams', headers: reader.headers })

  it('answers 503 (to be retried), not 401, and the same token works once the accounts can be read', async () => {
    assert.equal((await list()).statusCode, 200)
    await db.query('alter table service_stream_user rename to service_stream_user_away')
    try {
      const res = await list()
      assert.equal(res.statusCode, 503, res.body)
      assert.match(json(res).error, /could not be checked/)
    } finally {
      await db.query('alter table service_stream_user_away rename to service_stream_user')
    }
    assert.equal((await list()).statusCode, 200)
  })

  it('still answers a token that does not work 401', async () => {
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/streams',
      headers: { authorization: 'Bearer not-a-token' },
    })
    assert.equal(res.statusCode, 401)
    assert.deepEqual(json(res), { error: 'Unauthorized' })
  })
})
