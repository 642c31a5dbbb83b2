import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'
import { tryJoin } from './people-fixtures.js'

/**
 * A person's locale is a language tag as clients write them: `pt_BR` (Android, Java, gettext) as
 * well as `pt-BR`, in any case. It is stored and answered in BCP 47 case, as the translation
 * module names locales; a join never fails for the separator of this optional field.
 */
for (const dialect of DIALECTS) {
  describe(`a person's locale (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    const join = (slug: string, locale: string) => tryJoin(suite.app, slug, { locale })

    it('accepts `_` and any case, and stores the tag in BCP 47 case', async () => {
      const slug = await createCampaign(suite.app)
      for (const [sent, stored] of [
        ['pt_BR', 'pt-BR'],
        ['pt_br', 'pt-BR'],
        ['EN-us', 'en-US'],
        ['zh_hant_TW', 'zh-Hant-TW'],
        ['fr', 'fr'],
      ]) {
        const res = await join(slug, sent)
        assert.equal(res.statusCode, 201, `${sent}: ${res.body}`)
        assert.equal(json(res).user.locale, stored, sent)
        const me = await suite.app.inject({
          method: 'GET',
          url: '/api/auth/me',
          headers: { authorization: `Bearer ${json(res).token}` },
        })
        assert.equal(me.statusCode, 200, me.body)
        assert.equal(json(me).user.locale, stored, `${sent} as /me answers it`)
      }
    })

    it('is the same through the action endpoint', async () => {
      const slug = await createCampaign(suite.app)
      const { token } = await guestToken(suite.app)
      const res = await suite.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: {
          action: 'register',
          data: { email: `ada_${randomBytes(4).toString('hex')}@example.com`, name: 'Ada', locale: 'pt_br' },
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).result.user.locale, 'pt-BR')
    })

    it('still refuses what is no language tag', async () => {
      const slug = await createCampaign(suite.app)
      for (const sent of ['english', 'e', 'en-', 'en__US', 'en-US-', 'en US', 'en-\u00e9', '-en']) {
        const res = await join(slug, sent)
        assert.equal(res.statusCode, 400, `${JSON.stringify(sent)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
    })
  })
}
