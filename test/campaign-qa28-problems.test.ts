// The editors' `problems` name what a campaign stored before a check holds that the check now
// refuses. A `referral_qualifies_on` stored before it was checked (`quote_submit`, which the
// referral service never acts on, so every referral of the campaign stays pending) was not among
// them: the campaign looked sound. It is now, as are a near-miss rule key and a media type that is
// none; all three are kept while a patch leaves them alone, so a patch of the title still saves.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FEATURES } from '../src/modules/campaign/features.js'
import { patchCampaign, storeBeforeChecks, storedCampaign } from './campaign-fixtures.js'
import { buildTestApp, DIALECTS, json, type TestContext } from './helper.js'

const RULES = '/metadata/custom_rules'

for (const dialect of DIALECTS) {
  describe(`campaign problems name rules stored before their checks (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    it('lists a referral_qualifies_on that qualifies nothing, with what it was meant as', async () => {
      const slug = await storeBeforeChecks(
        t.app,
        { features: [...FEATURES], custom_rules: { referral_qualifies_on: 'Quote.Submit' } },
        'legacy_qon',
      )
      const stored = await storedCampaign(t.app, slug)
      const problem = stored.problems?.find(
        (p: { path: string }) => p.path === `${RULES}/referral_qualifies_on`,
      )
      assert.ok(problem, JSON.stringify(stored.problems))
      assert.match(problem.message, /did you mean "quote\.submit"/)
      // Kept: a patch that leaves it alone saves, and still shows it.
      const renamed = await patchCampaign(t.app, slug, { title: 'Renamed' }, true)
      assert.equal(renamed.statusCode, 200, renamed.body)
      assert.ok(
        json(renamed).problems.some((p: { path: string }) => p.path === `${RULES}/referral_qualifies_on`),
      )
      const fixed = await patchCampaign(
        t.app,
        slug,
        { metadata: { custom_rules: { referral_qualifies_on: 'quote.submit' } } },
        true,
      )
      assert.equal(fixed.statusCode, 200, fixed.body)
      assert.equal(json(fixed).problems, undefined)
    })

    it('lists a near-miss rule key and a media type that is none', async () => {
      const slug = await storeBeforeChecks(
        t.app,
        {
          custom_rules: {
            leaderbord_size: 5,
            media_allowed_types: ['image/png', 'images/png'],
            theme: 'dark',
          },
        },
        'legacy_rules',
      )
      const { problems } = await storedCampaign(t.app, slug)
      assert.deepEqual(
        problems.map((p: { path: string }) => p.path),
        [`${RULES}/leaderbord_size`, `${RULES}/media_allowed_types/1`],
      )
      assert.match(problems[0].message, /"leaderboard_size"/)
      assert.match(problems[1].message, /"images\/png"/)
    })

    it('lists nothing for sound rules', async () => {
      const slug = await storeBeforeChecks(
        t.app,
        {
          custom_rules: {
            referral_qualifies_on: 'register',
            media_allowed_types: ['image/png'],
            theme: 'dark',
          },
        },
        'sound',
      )
      assert.equal((await storedCampaign(t.app, slug)).problems, undefined)
    })
  })
}
