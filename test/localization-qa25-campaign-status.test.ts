import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { startFakeLibreTranslate } from './fixtures/libretranslate.js'
import { translationSuite } from './localization-fixtures.js'

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString()

for (const dialect of DIALECTS) {
  describe(`localization QA 25: which campaign statuses may be translated (${dialect})`, () => {
    const suite = translationSuite(dialect, () => startFakeLibreTranslate())

    /** The same string through both routes: `POST /api/translate` and the action. */
    async function both(slug: string, q: string) {
      const rest = await suite.translate({ campaign_id: slug, q, source: 'en', target: 'es' })
      const action = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: suite.auth,
        payload: { action: 'localization.translate', data: { q, source: 'en', target: 'es' } },
      })
      return { rest, action }
    }

    it('translates a scheduled campaign (its waiting room), its placeholders kept', async () => {
      const slug = await createCampaign(suite.ctx.app, { metadata: { scheduling: { start: inAnHour() } } })
      const { rest, action } = await both(slug, 'This campaign opens {time}: its forms open then.')
      assert.equal(rest.statusCode, 200, rest.body)
      assert.equal(json(rest).translations[0].text, '[es] THIS CAMPAIGN OPENS {time}: ITS FORMS OPEN THEN.')
      assert.equal(action.statusCode, 200, action.body)
      assert.equal(
        json(action).result.translations[0].text,
        '[es] THIS CAMPAIGN OPENS {time}: ITS FORMS OPEN THEN.',
      )
    })

    it('translates an ended or archived campaign (its page still says so to its visitors)', async () => {
      const ended = await createCampaign(suite.ctx.app)
      const patch = await suite.ctx.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${ended}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ metadata: { scheduling: { end: '2000-01-01T00:00:00Z' } } }),
      })
      assert.equal(patch.statusCode, 200, patch.body)
      const archived = await createCampaign(suite.ctx.app)
      const del = await suite.ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${archived}`,
        headers: adminHeaders,
      })
      assert.equal(del.statusCode, 200, del.body)
      for (const slug of [ended, archived]) {
        const { rest, action } = await both(slug, 'This campaign is {status}.')
        assert.equal(rest.statusCode, 200, rest.body)
        assert.equal(action.statusCode, 200, action.body)
      }
    })

    it('still refuses a draft, on both routes, and the actions that take part in a scheduled one', async () => {
      const draft = await createCampaign(suite.ctx.app, { draft: true })
      const { rest, action } = await both(draft, 'Hello')
      for (const res of [rest, action]) {
        assert.equal(res.statusCode, 409, res.body)
        assert.deepEqual(
          [json(res).error.code, json(res).error.details],
          ['CAMPAIGN_NOT_ACTIVE', { status: 'draft' }],
        )
      }
      // Only translation is let through: a visitor's other actions wait for the start.
      const scheduled = await createCampaign(suite.ctx.app, {
        metadata: { scheduling: { start: inAnHour() } },
      })
      const view = await suite.ctx.app.inject({
        method: 'POST',
        url: `/api/${scheduled}/update`,
        headers: suite.auth,
        payload: { action: 'content.view', data: {} },
      })
      assert.equal(view.statusCode, 409, view.body)
      assert.deepEqual(json(view).error.details, { status: 'scheduled' })
    })
  })
}
