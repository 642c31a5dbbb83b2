// A replay asked for while the message's attempt is still on the wire: the message exists, so the
// answer is not 404 but 409 MESSAGE_SENDING with a Retry-After, and once the attempt ends the same
// replay is taken and sent.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, DIALECTS, json } from './helper.js'
import {
  FAST_WEBHOOKS,
  guestLead,
  heldAnswers,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

for (const dialect of DIALECTS) {
  describe(`webhook replay during an attempt (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST_WEBHOOKS)

    it('answers 409 MESSAGE_SENDING with Retry-After while the attempt is under way, then replays', async () => {
      const { ctx } = suite
      const held = heldAnswers()
      const { r, slug, id } = await suite.endpoint(held.respond)
      await guestLead(ctx.app, slug, 'on.the.wire@example.com')
      const first = await waitFor(() => r.got[0], 'the first attempt, held by the receiver')
      const replay = () =>
        ctx.app.inject({
          method: 'POST',
          url: `/api/campaign/${slug}/webhooks/${id}/messages/${first.id}/replay`,
          headers: adminHeaders,
        })

      const during = await replay()
      assert.equal(during.statusCode, 409, during.body)
      const err = json(during).error
      assert.equal(err.code, 'MESSAGE_SENDING')
      assert.match(err.message, /being sent right now/)
      const retryAfter = Number(during.headers['retry-after'])
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1,
        `Retry-After ${during.headers['retry-after']}`,
      )
      assert.ok(err.details.retry_after_ms >= 1000, JSON.stringify(err.details))
      assert.equal(r.got.length, 1, 'the refused replay sent nothing')

      held.release()
      await waitFor(
        async () => (await webhookMessages(ctx.app, slug, id))[0]?.status === 'delivered',
        'the attempt to end',
      )
      const later = await replay()
      assert.equal(later.statusCode, 202, later.body)
      const again = await waitFor(() => r.got[1], 'the replay')
      assert.equal(again.id, first.id)
      assert.equal(again.raw, first.raw)
      assert.equal(again.verified, true)
    })

    it('still answers 404 MESSAGE_NOT_FOUND for a message the endpoint never had', async () => {
      const { ctx } = suite
      const { slug, id } = await suite.endpoint()
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/campaign/${slug}/webhooks/${id}/messages/msg_01JZZZZZZZZZZZZZZZZZZZZZZZ/replay`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 404, res.body)
      assert.equal(json(res).error.code, 'MESSAGE_NOT_FOUND')
      assert.doesNotMatch(json(res).error.message, /being sent/)
    })
  })
}
