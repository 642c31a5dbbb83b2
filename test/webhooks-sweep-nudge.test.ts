// Messages made due again under their old ids (an endpoint enabled, a replay, a recovery) are sent
// at once, not at the worker's next periodic sweep. The worker finds new rows by walking ids past
// the last it claimed; these rows sit below that point, so only a sweep sees them, and those three
// actions ask for one. The poll interval here is a minute (the most the setting allows) and every
// wait well under it, so a message left to the periodic sweep fails the test.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { disableEndpoint } from '../src/modules/notification/webhook.repo.js'
import { newUlid } from '../src/platform/ids.js'
import type { OutboxStatus } from '../src/platform/db/tables.js'
import { adminHeaders, DIALECTS } from './helper.js'
import { FAST_WEBHOOKS, subscribedEndpoint, waitFor, webhookApp } from './webhook-fixtures.js'

const HOUR = 3_600_000

for (const dialect of DIALECTS) {
  describe(`messages due again under old ids are sent at once (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST_WEBHOOKS, WEBHOOK_POLL_MS: '60000' })
    const { servers } = suite
    const db = () => suite.ctx.app.platform.database.db
    const post = (url: string, payload?: object) =>
      suite.ctx.app.inject({ method: 'POST', url, headers: adminHeaders, ...(payload ? { payload } : {}) })

    /** A message of endpoint `id` as an earlier attempt left it. */
    async function seed(
      slug: string,
      id: string,
      name: string,
      status: OutboxStatus,
      nextAttemptAt = new Date(),
    ) {
      const messageId = `msg_${newUlid()}`
      await db()
        .insertInto('service_notification_outbox')
        .values({
          message_id: messageId,
          webhook_id: id,
          campaign_slug: slug,
          event: 'lead.created',
          subject_id: `lead_${name}_${slug}`,
          payload: JSON.stringify({ type: 'lead.created', data: { lead: { id: `lead_${name}_${slug}` } } }),
          status,
          attempts: status === 'pending' ? 1 : 5,
          next_attempt_at: nextAttemptAt,
          delivered_at: status === 'delivered' ? new Date() : null,
        })
        .execute()
      return messageId
    }

    /**
     * Moves the worker's fresh-row cursor past every message written so far: a test event to
     * another endpoint is a fresh row, and the worker claims it (no hand-off) before it is sent.
     */
    async function passCursor() {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      const res = await post(`/api/campaign/${slug}/webhooks/${id}/test`)
      assert.equal(res.statusCode, 202, res.body)
      await waitFor(() => r.got.length > 0, 'the test event that moves the cursor')
    }

    it('enabling an endpoint sends the retry it held back (due now) at once', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await disableEndpoint(db(), id, 'test')
      const held = await seed(slug, id, 'held', 'pending', new Date(Date.now() + HOUR))
      await passCursor()
      const res = await post(`/api/campaign/${slug}/webhooks/${id}/enable`)
      assert.equal(res.statusCode, 200, res.body)
      const got = await waitFor(() => r.got.find((m) => m.id === held), 'the held retry')
      assert.ok(got.verified)
    })

    it('a replayed message is sent at once', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      const sent = await seed(slug, id, 'sent', 'delivered')
      await passCursor()
      const res = await post(`/api/campaign/${slug}/webhooks/${id}/messages/${sent}/replay`)
      assert.equal(res.statusCode, 202, res.body)
      const got = await waitFor(() => r.got.find((m) => m.id === sent), 'the replayed message')
      assert.ok(got.verified)
    })

    it('recovered messages are sent at once', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      const failed = await seed(slug, id, 'failed', 'failed')
      const cancelled = await seed(slug, id, 'cancelled', 'cancelled')
      await passCursor()
      const res = await post(`/api/campaign/${slug}/webhooks/${id}/recover`, {
        since: new Date(Date.now() - HOUR).toISOString(),
      })
      assert.equal(res.statusCode, 202, res.body)
      assert.equal(JSON.parse(res.body).recovered, 2)
      await waitFor(
        () => [failed, cancelled].every((m) => r.got.some((g) => g.id === m && g.verified)),
        'the recovered messages',
      )
      assert.equal(r.got.length, 2, 'each recovered message is sent once')
    })
  })
}
