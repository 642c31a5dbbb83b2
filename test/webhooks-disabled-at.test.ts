// A CRM endpoint records when it was disabled: a receiver's 410 Gone sets `disabled_at` beside
// `disabled_reason`, the admin list shows it (the console's "Recover messages" starts just before
// it), and `POST …/enable` clears it.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Webhook } from '../client/index.js'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'
import { FAST_WEBHOOKS, receiver, subscribe, waitFor } from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`when a webhook endpoint was disabled (${dialect})`, () => {
    let ctx: TestContext
    let crm: Awaited<ReturnType<typeof receiver>>
    before(async () => {
      ctx = await buildTestApp({ dialect, env: FAST_WEBHOOKS })
      crm = await receiver((_n, _req, res) => res.writeHead(410).end())
    })
    after(async () => {
      await ctx.close()
      await crm.close()
    })

    const call = (method: 'GET' | 'POST', url: string) =>
      ctx.app.inject({ method, url, headers: adminHeaders })
    async function listed(slug: string): Promise<Webhook> {
      const res = await call('GET', `/api/campaign/${slug}/webhooks`)
      assert.equal(res.statusCode, 200, res.body)
      return json<{ webhooks: Webhook[] }>(res).webhooks[0]!
    }

    it('a 410 Gone sets disabled_at, shown in the list; enable clears it', async () => {
      const slug = await createCampaign(ctx.app)
      const { id } = await subscribe(ctx.app, slug, crm, ['*'])
      const fresh = await listed(slug)
      assert.equal(fresh.enabled, true)
      assert.equal(fresh.disabled_at, null, 'null while enabled')

      const started = Date.now()
      const queued = await call('POST', `/api/campaign/${slug}/webhooks/${id}/test`)
      assert.equal(queued.statusCode, 202, queued.body)
      const disabled = await waitFor(async () => {
        const w = await listed(slug)
        return w.enabled === false && w
      }, 'the endpoint disabled by the 410')
      assert.match(disabled.disabled_reason ?? '', /410 Gone/)
      assert.equal(typeof disabled.disabled_at, 'string')
      const at = new Date(disabled.disabled_at!).getTime()
      assert.ok(at >= started, `disabled at ${disabled.disabled_at}, not before the test started`)
      assert.ok(at <= Date.now(), `disabled at ${disabled.disabled_at}, not in the future`)

      const enabled = await call('POST', `/api/campaign/${slug}/webhooks/${id}/enable`)
      assert.equal(enabled.statusCode, 200, enabled.body)
      assert.equal(json<Webhook>(enabled).disabled_at, null, 'the enable answer')
      const again = await listed(slug)
      assert.equal(again.enabled, true)
      assert.equal(again.disabled_at, null, 'the list after enable')
      assert.equal(again.disabled_reason, null)
    })
  })
}
