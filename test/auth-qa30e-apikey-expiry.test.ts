// API keys that end by themselves (QA 30): a key made with an expiry works until then and is
// refused after it (401 `API_KEY_EXPIRED`), whether the node reads the key afresh or holds it in
// its 30-second cache; the list shows each key's expiry; `ovasabi apikey create --expires-in`.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { onClock } from './clock-fixtures.js'
import { BIN, runCli } from './fixtures/run-cli.js'
import { buildTestApp, DIALECTS, json, type TestContext } from './helper.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

for (const dialect of DIALECTS) {
  describe(`API key expiry (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
    })
    after(() => ctx.close())

    const list = (key: string) =>
      app.inject({ method: 'GET', url: '/api/campaign', headers: { 'x-api-key': key } })

    it('a key read from the database after its expiry is refused with API_KEY_EXPIRED', async () => {
      const expiresAt = new Date(Date.now() + 10 * MINUTE)
      const made = await app.platform.apiKeys.create({ name: 'short-lived', role: 'admin', expiresAt })
      assert.equal(made.expires_at?.getTime(), expiresAt.getTime())
      // Never used before the clock passes its expiry: the node reads it from the database.
      const late = await onClock(11 * MINUTE, () => list(made.key))
      assert.equal(late.statusCode, 401, late.body)
      assert.equal(json(late).error.code, 'API_KEY_EXPIRED')
      assert.match(json(late).error.message, /expired/)
      // Before then it works.
      assert.equal((await list(made.key)).statusCode, 200)
    })

    it('a key the node holds in its cache is refused once it expires, within the cache’s 30 s', async () => {
      const made = await app.platform.apiKeys.create({
        name: 'cached',
        role: 'editor',
        expiresAt: new Date(Date.now() + 10_000),
      })
      assert.equal((await list(made.key)).statusCode, 200, 'used, so cached for 30 s')
      const late = await onClock(20_000, () => list(made.key))
      assert.equal(late.statusCode, 401, late.body)
      assert.equal(json(late).error.code, 'API_KEY_EXPIRED')
    })

    it('a key without an expiry never expires; the list shows each key’s expiry', async () => {
      const forever = await app.platform.apiKeys.create({ name: 'forever', role: 'admin' })
      assert.equal(forever.expires_at, null)
      assert.equal((await onClock(400 * DAY, () => list(forever.key))).statusCode, 200)
      const listed = await app.platform.apiKeys.list()
      const byName = new Map(listed.map((k) => [k.name, k]))
      assert.equal(byName.get('forever')?.expires_at, null)
      assert.ok(byName.get('short-lived')?.expires_at instanceof Date)
    })

    it('refuses an expiry that is not in the future', async () => {
      await assert.rejects(
        app.platform.apiKeys.create({
          name: 'born-dead',
          role: 'admin',
          expiresAt: new Date(Date.now() - 1),
        }),
        /expir/,
      )
    })
  })
}

const cli = async (args: string[], env: Record<string, string>) => {
  const r = await runCli([BIN, ...args], env)
  return { code: r.code, out: r.stdout, err: r.stderr }
}

describe('ovasabi apikey create --expires-in', () => {
  it('stores the expiry, prints it, and lists it; a bad duration is a usage error', async () => {
    const DATA_DIR = await migratedDataDir('ovasabi-cli-')
    const started = Date.now()
    const made = await cli(['apikey', 'create', '--name', 'ci', '--expires-in', '30d', '--json'], {
      DATA_DIR,
    })
    assert.equal(made.code, 0, made.err)
    const key = JSON.parse(made.out)
    const at = Date.parse(key.expires_at)
    assert.ok(at >= started + 30 * DAY && at <= Date.now() + 30 * DAY, key.expires_at)

    const text = await cli(['apikey', 'create', '--name', 'ops', '--expires-in', '12h'], { DATA_DIR })
    assert.equal(text.code, 0, text.err)
    assert.match(text.out, /expires \d{4}-\d\d-\d\dT/)

    const listed = await cli(['apikey', 'list'], { DATA_DIR })
    assert.equal(listed.code, 0, listed.err)
    const ci = listed.out.split('\n').find((l) => l.includes('\tci\t'))
    assert.ok(ci?.includes(key.expires_at), listed.out)
    const listedJson = JSON.parse((await cli(['apikey', 'list', '--json'], { DATA_DIR })).out)
    assert.equal(listedJson.find((k: { name: string }) => k.name === 'ci').expires_at, key.expires_at)

    for (const bad of ['30', '0d', 'soon', '1y']) {
      const refused = await cli(['apikey', 'create', '--name', 'x', '--expires-in', bad], { DATA_DIR })
      assert.equal(refused.code, 1, `${bad}: ${refused.out}${refused.err}`)
      assert.match(refused.err, /--expires-in/)
    }
  })
})
