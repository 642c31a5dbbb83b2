import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, json, sendAction, guestToken, suiteApp, uniqueSlug } from './helper.js'

/**
 * A lead's email must name a domain, not a host's address (QA 30d); a person's did not: a join
 * with `ada@127.0.0.1` or `ada@[10.0.0.1]` made an account whose welcome and milestone mail, and
 * every CRM it reached through referral webhooks, went to a host (often an internal one).
 */
describe('a join with an IP-literal email', () => {
  const suite = suiteApp()

  it('is refused over REST and the action, where a name under a numeric label is not', async () => {
    const { app } = suite
    const slug = await createCampaign(app)
    for (const email of ['ada@127.0.0.1', 'ada@[127.0.0.1]', 'ada@[IPv6:2001:db8::1]', 'ada@8.8.8.8']) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/user/register',
        payload: { campaign: slug, name: 'Ada', email },
      })
      assert.equal(res.statusCode, 400, `${email}: ${res.body}`)
      assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      assert.match(JSON.stringify(json(res).error.details), /email/)
      const { token } = await guestToken(app)
      const action = await sendAction(app, slug, token, 'user.register', { name: 'Ada', email })
      assert.equal(action.statusCode, 400, `${email} (action): ${action.body}`)
    }
    const fine = await app.inject({
      method: 'POST',
      url: '/api/user/register',
      payload: { campaign: slug, name: 'Ada', email: `ada.${uniqueSlug('e')}@123.example.com` },
    })
    assert.equal(fine.statusCode, 201, fine.body)
  })
})
