// QA 29a on CRM webhooks: an attempt that fails on our side, not the receiver's. The plain case is a
// signing secret this server cannot open: the secrets are sealed under a key derived from
// JWT_SECRET, and a node started with another one (a JWT_SECRET generated into a DATA_DIR that was
// lost, or one node of several configured differently) cannot read them. Such an attempt still
// counts: it backs off like any failure, shows in the delivery log, and after WEBHOOK_MAX_ATTEMPTS
// the message is `failed`, never retried every few seconds for ever. And a rotation is the way out:
// the secret it replaces, unreadable, cannot sign beside the new one, so it is left out rather than
// failing every send of the grace period.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSecretBox } from '../src/modules/notification/index.js'
import { adminHeaders, DIALECTS, json } from './helper.js'
import {
  FAST_WEBHOOKS,
  guestLead,
  subscribedEndpoint,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

const MAX_ATTEMPTS = 3

for (const dialect of DIALECTS) {
  describe(`webhook secret this server cannot open (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST_WEBHOOKS, WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS) })
    const { servers } = suite

    /** The endpoint's secret as sealed by a server with another JWT_SECRET. */
    async function sealElsewhere(id: string) {
      const foreign = createSecretBox('a JWT_SECRET this server never had').seal(
        'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      )
      await suite.ctx.app.platform.database.db
        .updateTable('service_notification_webhook')
        .set({ secret_sealed: foreign })
        .where('id', '=', id)
        .execute()
    }

    it('gives up after WEBHOOK_MAX_ATTEMPTS, each attempt in the delivery log', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await sealElsewhere(id)
      await guestLead(suite.ctx.app, slug, `unreadable.${dialect}@example.com`)

      const message = await waitFor(async () => {
        const m = (await webhookMessages(suite.ctx.app, slug, id))[0]
        return m && (m.status === 'failed' || m.attempts > MAX_ATTEMPTS) && m
      }, 'the message to fail, or to go past its attempts')
      assert.equal(message.attempts, MAX_ATTEMPTS, JSON.stringify(message))
      assert.equal(message.status, 'failed')
      assert.match(message.last_error, /internal error/)
      assert.equal(r.got.length, 0, 'nothing was sent unsigned')

      const res = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks/${id}/deliveries`,
        headers: adminHeaders,
      })
      const attempts = json(res).deliveries.map((d: any) => [d.attempt, d.status_code])
      assert.deepEqual(attempts, [
        [3, null],
        [2, null],
        [1, null],
      ])
      // Our own fault, not the receiver's: the endpoint's circuit is not charged with it.
      const listed = json(
        await suite.ctx.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
      ).webhooks[0]
      assert.equal(listed.consecutive_failures, 0)
    })

    it('a rotation afterwards delivers, signed with the new secret alone', async () => {
      const { slug, r, id } = await subscribedEndpoint(suite.ctx.app, servers)
      await sealElsewhere(id)
      const rotated = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/webhooks/${id}/rotate`,
        headers: adminHeaders,
      })
      assert.equal(rotated.statusCode, 200, rotated.body)
      r.setSecret(json(rotated).secret)
      const test = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/webhooks/${id}/test`,
        headers: adminHeaders,
      })
      assert.equal(test.statusCode, 202, test.body)

      await waitFor(
        async () => r.got[0] ?? ((await webhookMessages(suite.ctx.app, slug, id))[0]?.attempts ?? 0) >= 2,
        'the test message: sent, or retried',
      )
      const got = r.got[0]
      assert.ok(got, 'the test message was sent')
      assert.equal(got.verified, true)
      assert.equal(got.signature.split(' ').length, 1)
    })
  })
}
