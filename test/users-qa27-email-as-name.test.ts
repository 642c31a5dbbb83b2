import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

/**
 * A display name is shown to every visitor (the leaderboard, "Ada now has 5 referrals" to every
 * socket), and the campaign promises never to show an email there. A browser's autofill (or a
 * person) putting an address in the name field published it all the same. A name holding an email
 * address is refused, over REST and the action, naming the field; a name with an @ that is no
 * address stays a name.
 */
for (const dialect of DIALECTS) {
  describe(`a display name holding an email address (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('is refused with 400 naming the field, and nothing is stored', async () => {
      const slug = await createCampaign(suite.app)
      const { token } = await guestToken(suite.app)
      for (const name of ['ada@example.com', ' Ada.Lovelace@Example.co.uk ', 'Ada (ada@example.com)']) {
        const email = `ada_${Math.random().toString(36).slice(2)}@example.com`
        const rest = await suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, name, email },
        })
        assert.equal(rest.statusCode, 400, `REST ${name}: ${rest.body}`)
        assert.equal(json(rest).error.code, 'VALIDATION_FAILED')
        const detail = json(rest).error.details.find((d: { path: string }) => d.path === '/name')
        assert.match(detail?.message ?? '', /email address/, rest.body)
        const action = await suite.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: { action: 'register', data: { name, email } },
        })
        assert.equal(action.statusCode, 400, `action ${name}: ${action.body}`)
        assert.match(JSON.stringify(json(action).error.details), /name/)
        // Nothing was stored: the address joins with a proper name.
        const ok = await suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, name: 'Ada', email },
        })
        assert.equal(ok.statusCode, 201, ok.body)
        assert.equal(json(ok).user.display_name, 'Ada')
      }
    })

    it('lets a name with an @ that is no address through', async () => {
      const slug = await createCampaign(suite.app)
      for (const name of ['@ada', 'Ada @ Acme', 'Ada@Acme', 'a@b']) {
        const res = await suite.app.inject({
          method: 'POST',
          url: '/api/user/register',
          payload: { campaign: slug, name, email: `ada_${Math.random().toString(36).slice(2)}@example.com` },
        })
        assert.equal(res.statusCode, 201, `${name}: ${res.body}`)
      }
    })
  })
}
