import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'
import { tryJoin } from './people-fixtures.js'

/**
 * A consent record must say which text was agreed to: a version that is blank, or holds control
 * or invisible characters (a line break forging a second line in an export, a zero-width space
 * making "v1" differ from "v1"), records nothing one can show later. Surrounding spaces are
 * trimmed, as for a display name.
 */
for (const dialect of DIALECTS) {
  describe(`the consent text version (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    const join = (slug: string, text_version: string) =>
      tryJoin(suite.app, slug, { consent: { text_version } })

    async function consentOf(userId: string) {
      const row = await suite.app.platform.database.db
        .selectFrom('service_user_master')
        .select('consent')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow()
      return (typeof row.consent === 'string' ? JSON.parse(row.consent) : row.consent) as any
    }

    it('refuses a blank version or one with control or invisible characters', async () => {
      const slug = await createCampaign(suite.app)
      for (const version of [
        ' ',
        '   ',
        '\t',
        'v1\nv2',
        'v1\r',
        '\u200B',
        'v\u200B1',
        'v1\u202E',
        '\u3000',
      ]) {
        const res = await join(slug, version)
        assert.equal(res.statusCode, 400, `${JSON.stringify(version)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.match(JSON.stringify(json(res).error.details), /text_version/)
      }
    })

    it('is checked the same through the action endpoint', async () => {
      const slug = await createCampaign(suite.app)
      const { token } = await guestToken(suite.app)
      const post = (text_version: string) =>
        suite.app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: {
            action: 'register',
            data: {
              email: `ada_${randomBytes(4).toString('hex')}@example.com`,
              name: 'Ada',
              consent: { text_version },
            },
          },
        })
      for (const version of ['   ', 'v1\n', 'v\u200B1']) {
        const res = await post(version)
        assert.equal(res.statusCode, 400, `${JSON.stringify(version)}: ${res.body}`)
      }
      const ok = await post(' v2 ')
      assert.equal(ok.statusCode, 200, ok.body)
      const consent = await consentOf(json(ok).result.user.id)
      assert.equal(consent.text_version, 'v2')
    })

    it('records a version as typed without its surrounding spaces', async () => {
      const slug = await createCampaign(suite.app)
      for (const [sent, stored] of [
        ['site-2025-01', 'site-2025-01'],
        ['  terms v3 ', 'terms v3'],
        ['conditions générales 2', 'conditions générales 2'],
      ]) {
        const res = await join(slug, sent)
        assert.equal(res.statusCode, 201, `${JSON.stringify(sent)}: ${res.body}`)
        const consent = await consentOf(json(res).user.id)
        assert.equal(consent.text_version, stored)
        assert.equal(consent.by_campaign[slug].text_version, stored)
      }
    })
  })
}
