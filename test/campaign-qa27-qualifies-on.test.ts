// `custom_rules.referral_qualifies_on` names the action that qualifies a pending referral. A value
// the referral service never acts on (a trailing space, `quote_submit`, a near miss of a
// registered action) left every referral of the campaign pending forever: refused when written,
// naming the rule and what it may be. A campaign stored before the check still reads, and a patch
// that leaves the rule alone still saves.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FEATURES } from '../src/modules/campaign/features.js'
import {
  assertRefused,
  patchCampaign,
  postCampaign,
  storeBeforeChecks,
  storedCampaign,
} from './campaign-fixtures.js'
import { buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'

const PATH = '/metadata/custom_rules/referral_qualifies_on'
const rule = (on: unknown) => ({ features: [...FEATURES], custom_rules: { referral_qualifies_on: on } })

for (const dialect of DIALECTS) {
  describe(`campaign referral_qualifies_on is checked when written (${dialect})`, () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp({ dialect })
    })
    after(() => t.close())

    const create = (metadata: unknown) => postCampaign(t.app, metadata, 'qon')
    const refused = (res: { statusCode: number; body: string }) => {
      const error = assertRefused(res, [PATH])
      // What is allowed is listed: registered actions and their aliases, and tracked events.
      const message = error.details[0].message as string
      for (const name of ['register', 'quote.submit', 'submit_quote'])
        assert.ok(message.includes(name), message)
      assert.match(message, /tracked event/)
      return error
    }

    const TYPOS = [
      'quote.submit ',
      ' register',
      'quote_submit',
      'quote.submitt',
      'Quote.Submit',
      'REGISTER',
      'nope',
    ]
    for (const typo of TYPOS) {
      it(`refuses ${JSON.stringify(typo)} at create, merge patch and whole-metadata patch`, async () => {
        refused(await create(rule(typo)))
        const slug = await createCampaign(t.app)
        refused(
          await patchCampaign(
            t.app,
            slug,
            { metadata: { custom_rules: { referral_qualifies_on: typo } } },
            true,
          ),
        )
        refused(await patchCampaign(t.app, slug, { metadata: rule(typo) }))
        assert.equal((await storedCampaign(t.app, slug)).metadata.custom_rules, undefined)
      })
    }

    it('names the registered action a near miss was meant as', async () => {
      const error = refused(await create(rule('quote.submitt')))
      assert.match(error.message, /quote\.submit\b/)
      const cased = refused(await create(rule('Quote.Submit')))
      assert.match(cased.message, /did you mean "quote\.submit"/)
    })

    it('accepts the at-join rules, registered actions and aliases, and tracked events', async () => {
      for (const on of [
        'register',
        'user.register',
        'apply',
        'referral.apply',
        'apply_referral',
        'quote.submit',
        'submit_quote',
        'tour.finished',
      ]) {
        const res = await create(rule(on))
        assert.equal(res.statusCode, 201, `${on}: ${res.body}`)
        assert.equal(json(res).metadata.custom_rules.referral_qualifies_on, on)
      }
    })

    it('keeps a campaign stored before the check readable and patchable while a patch leaves the rule alone', async () => {
      const slug = await storeBeforeChecks(t.app, rule('quote_submit'), 'legacy_qon')
      assert.equal(
        (await storedCampaign(t.app, slug)).metadata.custom_rules.referral_qualifies_on,
        'quote_submit',
      )
      for (const merge of [false, true]) {
        const res = await patchCampaign(t.app, slug, { title: `Renamed ${merge}` }, merge)
        assert.equal(res.statusCode, 200, res.body)
      }
      const other = await patchCampaign(
        t.app,
        slug,
        { metadata: { custom_rules: { leaderboard_size: 5 } } },
        true,
      )
      assert.equal(other.statusCode, 200, other.body)
      assert.deepEqual(json(other).metadata.custom_rules, {
        referral_qualifies_on: 'quote_submit',
        leaderboard_size: 5,
      })
      // Naming it (even restating it) checks it as typed; a fixed value saves.
      refused(
        await patchCampaign(
          t.app,
          slug,
          { metadata: { custom_rules: { referral_qualifies_on: 'quote_submit' } } },
          true,
        ),
      )
      const fixed = await patchCampaign(
        t.app,
        slug,
        { metadata: { custom_rules: { referral_qualifies_on: 'submit_quote' } } },
        true,
      )
      assert.equal(fixed.statusCode, 200, fixed.body)
      const removed = await patchCampaign(
        t.app,
        slug,
        { metadata: { custom_rules: { referral_qualifies_on: null } } },
        true,
      )
      assert.equal(removed.statusCode, 200, removed.body)
      assert.deepEqual(json(removed).metadata.custom_rules, { leaderboard_size: 5 })
    })
  })
}
