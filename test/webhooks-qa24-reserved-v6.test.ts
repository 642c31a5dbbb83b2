// QA 24 on CRM webhooks: the SSRF guard refuses every IPv6 range the IANA special-purpose registry
// marks as not globally reachable, as it does their IPv4 counterparts (documentation 192.0.2.0/24,
// benchmarking 198.18.0.0/15): the IPv6 documentation prefix of RFC 9637 (3fff::/20), benchmarking
// (2001:2::/48), deprecated ORCHID (2001:10::/28), SRv6 SIDs (5f00::/16) and the dummy prefix
// (100:0:0:1::/64). No receiver can listen on these here: registration is what is checked, as the
// send-time check calls the same function (webhooks-qa.test.ts covers that path).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isPrivateAddress } from '../src/modules/notification/target-guard.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { FAST_WEBHOOKS, registerWebhook, webhookApp } from './webhook-fixtures.js'

const RESERVED = [
  '3fff::1',
  '3fff:fff:ffff::1',
  '2001:2::1',
  '2001:2:0:ffff::1',
  '2001:10::1',
  '5f00::1',
  '100:0:0:1::1',
]

describe('isPrivateAddress, IPv6 special-purpose ranges', () => {
  it('refuses documentation, benchmarking, ORCHID, SRv6 and dummy-prefix addresses; neighbours stay public', () => {
    for (const a of RESERVED) assert.equal(isPrivateAddress(a), true, a)
    // Just outside them: 4000::/3 is not used yet, but 3fff:1000:: is outside 3fff::/20, 2001:3::
    // is AMT and 2001:20::/28 ORCHIDv2, both globally reachable.
    for (const a of ['3fff:1000::1', '2001:3::1', '2001:20::1', '5f01::1', '100:0:0:2::1', '2606:4700::1111'])
      assert.equal(isPrivateAddress(a), false, a)
  })
})

for (const dialect of DIALECTS) {
  describe(`webhook SSRF guard, IPv6 special-purpose ranges (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST_WEBHOOKS, WEBHOOK_ALLOW_PRIVATE: 'false' })

    it('refuses to register a target in them (422 WEBHOOK_TARGET_PRIVATE)', async () => {
      const slug = await createCampaign(suite.app)
      for (const address of RESERVED) {
        const url = `http://[${address}]:8080/hook`
        const res = await registerWebhook(suite.app, slug, { url, events: ['*'] })
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'WEBHOOK_TARGET_PRIVATE', url)
      }
      const list = await suite.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks`,
        headers: adminHeaders,
      })
      assert.deepEqual(json(list).webhooks, [])
    })
  })
}
