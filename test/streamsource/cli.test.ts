import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { createDatabase } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { loadConfig } from '../../src/config.js'
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
})
