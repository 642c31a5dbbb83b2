import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { createDatabase } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { loadConfig } from '../../src/config.js'
import { createAccountService } from '../../src/modules/stream/account.service.js'
import { freshPostgres } from '../helper.js'

function cli(args: string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, ['bin/ovasabi.js', 'streamsource-user', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', REDIS_URL: '', ...env },
    encoding: 'utf8',
  })
  return { code: res.status, out: res.stdout, err: res.stderr }
}

describe('ovasabi streamsource-user', { skip: !process.env.DATABASE_URL && 'DATABASE_URL not set' }, () => {
  let db: Awaited<ReturnType<typeof freshPostgres>>
  before(async () => {
    db = await freshPostgres()
  })
  after(async () => db?.drop())

  it('prints stored emails without their control characters, and refuses an id that is no number', async () => {
    const database = await createDatabase(loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }))
    try {
      await migrateToLatest(database.db)
      // An account from before sign-up refused control characters: an OSC title and a colour.
      await database.db
        .insertInto('service_stream_user')
        .values({ email: 'evil\u001b]0;owned\u0007\u001b[8m@example.com', password_hash: 'x' })
        .execute()
    } finally {
      await database.close()
    }
    const env = { DATABASE_URL: db.url }
    const listed = cli(['list'], env)
    assert.equal(listed.code, 0, listed.err)
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(listed.out), JSON.stringify(listed.out))
    assert.match(listed.out, /evil\\u001b\]0;owned\\u0007\\u001b\[8m@example\.com/)

    const bad = cli(['set', 'abc', '--role', 'editor'], env)
    assert.equal(bad.code, 2, bad.out + bad.err)
    assert.match(bad.err, /Account id must be a number/)
    const good = cli(['set', '1', '--role', 'editor'], env)
    assert.equal(good.code, 0, good.err)
    assert.match(good.out, /^#1 evil\\u001b.*: editor$/m)
  })

  it('revoke, and set --password, cut off every token the account was issued before', async () => {
    const database = await createDatabase(loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }))
    const env = { DATABASE_URL: db.url }
    try {
      await migrateToLatest(database.db)
      const accounts = createAccountService({
        db: database.db,
        apiKeys: { authenticate: async () => undefined },
        secret: 'cli-test-secret',
      })
      const email = 'leaky@example.com'
      const { id } = await accounts.create({ email, password: 'Passw0rdOk' })
      const first = (await accounts.login(email, 'Passw0rdOk')).token
      assert.equal((await accounts.authenticate(first)).account_id, id)

      const revoked = cli(['revoke', String(id)], env)
      assert.equal(revoked.code, 0, revoked.err)
      assert.match(revoked.out, /^#\d+ leaky@example\.com: tokens issued before \S+ refused$/m)
      await assert.rejects(accounts.authenticate(first), { statusCode: 401 })
      const second = (await accounts.login(email, 'Passw0rdOk')).token
      assert.equal((await accounts.authenticate(second)).account_id, id, 'a new login works')

      const weak = cli(['set', String(id), '--password'], { ...env, STREAMSOURCE_PASSWORD: 'weak' })
      assert.equal(weak.code, 1)
      assert.equal(
        (await accounts.authenticate(second)).account_id,
        id,
        'a refused password cuts nothing off',
      )
      const reset = cli(['set', String(id), '--password'], { ...env, STREAMSOURCE_PASSWORD: 'N3wPassword' })
      assert.equal(reset.code, 0, reset.err)
      await assert.rejects(accounts.authenticate(second), { statusCode: 401 })
      await assert.rejects(accounts.login(email, 'Passw0rdOk'), { statusCode: 401 })
      const third = (await accounts.login(email, 'N3wPassword')).token
      assert.equal((await accounts.authenticate(third)).account_id, id)

      assert.equal(cli(['revoke', 'abc'], env).code, 2)
      const missing = cli(['revoke', '99999999'], env)
      assert.equal(missing.code, 1)
      assert.match(missing.err, /Record not found/)
    } finally {
      await database.close()
    }
  })
})
