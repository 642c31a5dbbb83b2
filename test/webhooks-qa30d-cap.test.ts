// QA pass 30d on CRM webhooks: a campaign could register any number of endpoints. Every lead is
// written once per subscribed endpoint (one outbox row, one request each), so an admin script
// looping on `POST …/webhooks` multiplied the cost of every lead without bound. Endpoints per
// campaign are capped (`WEBHOOK_MAX_PER_CAMPAIGN`, default 20): past it, 409 `WEBHOOK_LIMIT_REACHED`.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { tmpdir } from 'node:os'
import { loadConfig } from '../src/config.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { FAST_WEBHOOKS, receiver, registerWebhook, webhookApp } from './webhook-fixtures.js'

describe('WEBHOOK_MAX_PER_CAMPAIGN', () => {
  const env = { JWT_SECRET: 'a'.repeat(64), DATA_DIR: tmpdir() }
  it('defaults to 20 and takes a number from 1 up', () => {
    assert.equal(loadConfig(env).WEBHOOK_MAX_PER_CAMPAIGN, 20)
    assert.equal(loadConfig({ ...env, WEBHOOK_MAX_PER_CAMPAIGN: '3' }).WEBHOOK_MAX_PER_CAMPAIGN, 3)
    assert.throws(() => loadConfig({ ...env, WEBHOOK_MAX_PER_CAMPAIGN: '0' }), /WEBHOOK_MAX_PER_CAMPAIGN/)
  })
})

for (const dialect of DIALECTS) {
  describe(`webhook endpoints per campaign are capped (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST_WEBHOOKS, WEBHOOK_MAX_PER_CAMPAIGN: '3' })
    const { servers } = suite
    const list = async (slug: string) =>
      json(await suite.ctx.app.inject({ url: `/api/campaign/${slug}/webhooks`, headers: adminHeaders }))
        .webhooks as Array<{ id: string }>

    it('refuses an endpoint past the cap with 409 WEBHOOK_LIMIT_REACHED, and takes one once another goes', async () => {
      const r = await receiver()
      servers.push(r)
      const slug = await createCampaign(suite.ctx.app)
      for (let i = 0; i < 3; i++) {
        const res = await registerWebhook(suite.ctx.app, slug, { url: r.url, events: ['lead.created'] })
        assert.equal(res.statusCode, 201, res.body)
      }
      const over = await registerWebhook(suite.ctx.app, slug, { url: r.url, events: ['*'] })
      assert.equal(over.statusCode, 409, over.body)
      const { error } = json(over)
      assert.equal(error.code, 'WEBHOOK_LIMIT_REACHED')
      assert.match(error.message, /3/)
      assert.deepEqual(error.details, { limit: 3 })
      assert.equal((await list(slug)).length, 3)

      // Another campaign has its own allowance.
      const other = await createCampaign(suite.ctx.app)
      assert.equal(
        (await registerWebhook(suite.ctx.app, other, { url: r.url, events: ['*'] })).statusCode,
        201,
      )

      const [first] = await list(slug)
      const removed = await suite.ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/webhooks/${first!.id}`,
        headers: adminHeaders,
      })
      assert.equal(removed.statusCode, 204, removed.body)
      const again = await registerWebhook(suite.ctx.app, slug, { url: r.url, events: ['*'] })
      assert.equal(again.statusCode, 201, again.body)
      assert.equal((await list(slug)).length, 3)
    })

    it('holds under concurrent registrations', async () => {
      const r = await receiver()
      servers.push(r)
      const slug = await createCampaign(suite.ctx.app)
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          registerWebhook(suite.ctx.app, slug, { url: r.url, events: ['lead.created'] }),
        ),
      )
      const codes = results.map((res) => res.statusCode).sort()
      assert.deepEqual(codes, [201, 201, 201, 409, 409, 409, 409, 409])
      assert.equal((await list(slug)).length, 3)
    })
  })
}
