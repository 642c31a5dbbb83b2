// The SDK's `apiKeys` (admin): create shows the key once and it works as the client's `apiKey`;
// list never carries it; revoke makes it refused (401 `INVALID_API_KEY`). Over a real port.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ADMIN_KEY, buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import { createClient } from './index.js'
import { failure } from './test-helpers.js'

for (const dialect of DIALECTS) {
  describe(`client SDK: API keys (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(() => ctx.close())

    test('an admin creates, lists and revokes a key', async () => {
      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
      const slug = await createCampaign(ctx.app)
      const made = await admin.apiKeys.create({ name: 'sdk', role: 'editor', campaigns: [slug] })
      assert.match(made.key, /^ovs_/)
      assert.deepEqual(made.campaigns, [slug])
      const own = createClient({ baseUrl, apiKey: made.key })
      assert.equal((await own.campaigns.stats(slug)).campaign, slug)

      const listed = await admin.apiKeys.list()
      assert.equal(listed.keys[0]?.id, made.id, 'newest first')
      assert.equal(listed.keys[0]?.status, 'active')
      assert.ok(!JSON.stringify(listed).includes(made.key))

      const revoked = await admin.apiKeys.revoke(made.id)
      assert.equal(revoked.status, 'revoked')
      const refused = await failure(own.campaigns.stats(slug))
      assert.equal(refused.status, 401)
      assert.equal(refused.code, 'INVALID_API_KEY')
      const missing = await failure(admin.apiKeys.revoke('nosuchkey'))
      assert.equal(missing.code, 'API_KEY_NOT_FOUND')
    })
  })
}
