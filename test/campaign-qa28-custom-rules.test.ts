// `metadata.custom_rules` holds the rules the modules read and, free-form, a campaign's own keys
// (README, "Campaign rules"). A near miss of a rule the modules read (`leaderbord_size`,
// `Max_Referrals`, `leaderboard size`) was stored as a key of the campaign's own: the admin
// believed the rule was on while every reader fell back to its default. It is now 400 naming the
// key and the rule it was meant as; other keys are kept. `media_allowed_types` entries that are no
// media type (`png`, `images/png`) were stored, and every upload of the campaign was refused.
// Both, stored before the checks, are kept while a patch leaves them alone.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  assertRefused,
  patchCampaign,
  postCampaign,
  storeBeforeChecks,
  storedCampaign,
} from './campaign-fixtures.js'
import { buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'

const RULES = '/metadata/custom_rules'

for (const dialect of DIALECTS) {
  describe(`campaign custom_rules keys and media types are checked when written (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const NEAR_MISSES: Array<[string, string]> = [
      ['leaderbord_size', 'leaderboard_size'],
      ['leaderboard_sise', 'leaderboard_size'],
      ['Leaderboard_Size', 'leaderboard_size'],
      [' leaderboard_size', 'leaderboard_size'],
      ['leaderboard size', 'leaderboard_size'],
      ['leaderboard-size', 'leaderboard_size'],
      ['max_referral', 'max_referrals'],
      ['max_refferals', 'max_referrals'],
      ['mediaallowedtypes', 'media_allowed_types'],
      ['MAX_CURSORS', 'max_cursors'],
    ]
    for (const [typo, meant] of NEAR_MISSES) {
      it(`refuses ${JSON.stringify(typo)}, naming ${meant}, at create, whole metadata and merge patch`, async () => {
        const path = `${RULES}/${typo}`
        const check = (res: { statusCode: number; body: string }) => {
          const error = assertRefused(res, [path])
          assert.ok(error.message.includes(`did you mean "${meant}"`), error.message)
          assert.ok(error.details[0].message.includes(`"${meant}"`), error.details[0].message)
        }
        check(await postCampaign(t.app, { custom_rules: { [typo]: 5 } }, 'rules'))
        const slug = await createCampaign(t.app)
        check(await patchCampaign(t.app, slug, { metadata: { custom_rules: { [typo]: 5 } } }))
        check(await patchCampaign(t.app, slug, { metadata: { custom_rules: { [typo]: 5 } } }, true))
        assert.equal((await storedCampaign(t.app, slug)).metadata.custom_rules, undefined)
      })
    }

    it("keeps a campaign's own keys that are no near miss of a rule", async () => {
      const own = { theme: 'dark', partner_code: 'ACME', max_coupons_per_day: 3, leaderboard_sizes_note: 'x' }
      const res = await postCampaign(t.app, { custom_rules: { ...own, leaderboard_size: 5 } }, 'own')
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(json(res).metadata.custom_rules, { ...own, leaderboard_size: 5 })
    })

    const BAD_TYPES: Array<[string[], number]> = [
      [['png'], 0],
      [['image/png', 'images/png'], 1],
      [['image/png', 'image/'], 1],
      [['/png'], 0],
      [['image/png/x'], 0],
      [['text/*'], 0],
      [['image/png', 'application/*'], 1],
      [['*/*'], 0],
      [['image png'], 0],
    ]
    for (const [types, bad] of BAD_TYPES) {
      it(`refuses media_allowed_types ${JSON.stringify(types)}, naming entry ${bad}`, async () => {
        const path = `${RULES}/media_allowed_types/${bad}`
        const check = (res: { statusCode: number; body: string }) => {
          const error = assertRefused(res, [path])
          assert.ok(error.details[0].message.includes(JSON.stringify(types[bad])), error.details[0].message)
        }
        check(await postCampaign(t.app, { custom_rules: { media_allowed_types: types } }, 'media'))
        const slug = await createCampaign(t.app)
        check(
          await patchCampaign(t.app, slug, { metadata: { custom_rules: { media_allowed_types: types } } }),
        )
        check(
          await patchCampaign(
            t.app,
            slug,
            { metadata: { custom_rules: { media_allowed_types: types } } },
            true,
          ),
        )
        assert.equal((await storedCampaign(t.app, slug)).metadata.custom_rules, undefined)
      })
    }

    it('accepts media types as uploads read them (any case, aliases, parameters, structured suffixes)', async () => {
      const types = [
        'image/png',
        'IMAGE/JPEG',
        'image/jpg',
        'audio/ogg; codecs=opus',
        'image/svg+xml',
        'font/woff2',
        // The wildcards uploads are compared with (QA 31): each the kind's checked types.
        'image/*',
        'VIDEO/*',
        'audio/*',
      ]
      const res = await postCampaign(t.app, { custom_rules: { media_allowed_types: types } }, 'media')
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(json(res).metadata.custom_rules.media_allowed_types, types)
    })

    it('keeps a near miss and bad media types stored before the checks while a patch leaves them alone', async () => {
      const slug = await storeBeforeChecks(
        t.app,
        { custom_rules: { leaderbord_size: 5, media_allowed_types: ['png'] } },
        'legacy_rules',
      )
      for (const merge of [false, true]) {
        const res = await patchCampaign(t.app, slug, { title: `Renamed ${merge}` }, merge)
        assert.equal(res.statusCode, 200, res.body)
      }
      const other = await patchCampaign(t.app, slug, { metadata: { custom_rules: { max_cursors: 9 } } }, true)
      assert.equal(other.statusCode, 200, other.body)
      assert.deepEqual(json(other).metadata.custom_rules, {
        leaderbord_size: 5,
        media_allowed_types: ['png'],
        max_cursors: 9,
      })
      // Naming one (even restating it) checks it as typed.
      assertRefused(
        await patchCampaign(t.app, slug, { metadata: { custom_rules: { leaderbord_size: 5 } } }, true),
        [`${RULES}/leaderbord_size`],
      )
      assertRefused(
        await patchCampaign(
          t.app,
          slug,
          { metadata: { custom_rules: { media_allowed_types: ['png'] } } },
          true,
        ),
        [`${RULES}/media_allowed_types/0`],
      )
      const fixed = await patchCampaign(
        t.app,
        slug,
        {
          metadata: {
            custom_rules: { leaderbord_size: null, leaderboard_size: 5, media_allowed_types: ['image/png'] },
          },
        },
        true,
      )
      assert.equal(fixed.statusCode, 200, fixed.body)
      assert.deepEqual(json(fixed).metadata.custom_rules, {
        leaderboard_size: 5,
        media_allowed_types: ['image/png'],
        max_cursors: 9,
      })
    })
  })
}
