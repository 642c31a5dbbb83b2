import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from '../helper.js'
import { connect, metric } from './client.js'
import { realtimeSuite } from './fixtures.js'

const PARTNER = 'https://partner.example'
const PUBLIC = 'https://campaigns.example'

for (const dialect of DIALECTS) {
  describe(`WebSocket upgrade: origins and malformed paths (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { CORS_ORIGINS: PARTNER, PUBLIC_URL: PUBLIC } })
    const { open } = live
    const refusal = async (path: string, opts?: Parameters<typeof connect>[1]) => {
      const err: any = await connect(`${live.url}${path}`, opts).then(
        (c) => {
          live.keep(c)
          assert.fail(`${path} should be refused`)
        },
        (e) => e,
      )
      return { status: err.status as number, code: JSON.parse(err.body).error.code as string }
    }

    // A cookie rides along with any page's WebSocket, so a page on another site could act as the
    // visitor (cross-site WebSocket hijacking): the cookie counts only from the site's own pages.
    it('takes the cookie only from the own site, CORS_ORIGINS and PUBLIC_URL', async () => {
      const slug = await createCampaign(live.app)
      const user = await live.app.platform.tokens.issueUser({ userId: 'user_cookie', roles: ['participant'] })
      const cookie = `ovasabi_token=${user.token}`
      const path = `/ws/${slug}/user_cookie`
      for (const origin of ['https://evil.example', 'null', `http://127.0.0.1.evil.example`]) {
        assert.deepEqual(
          await refusal(path, { headers: { cookie, origin } }),
          { status: 403, code: 'ORIGIN_NOT_ALLOWED' },
          origin,
        )
      }
      // The same site, the listed partner, the public URL, and clients that are not browsers.
      for (const origin of [live.url.replace('ws:', 'http:'), PARTNER, PUBLIC, undefined]) {
        const c = await open(path, { headers: origin ? { cookie, origin } : { cookie } })
        assert.equal(c.frames[0].user_id, 'user_cookie', String(origin))
      }
      // A token the page itself holds (subprotocol or query) is no ambient credential: any origin.
      const viaProtocol = await open(path, {
        protocols: ['ovasabi', user.token],
        headers: { origin: 'https://embedding.example' },
      })
      assert.equal(viaProtocol.frames[0].user_id, 'user_cookie')
      const viaQuery = await open(`${path}?token=${user.token}`, {
        headers: { origin: 'https://embedding.example' },
      })
      assert.equal(viaQuery.frames[0].user_id, 'user_cookie')
      assert.ok(
        (await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="ORIGIN_NOT_ALLOWED"')) >= 3,
      )
    })

    it('answers a malformed percent-encoding in the path with 400, not 500', async () => {
      const { token } = await live.app.platform.tokens.issueGuest()
      const before = await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="INTERNAL"')
      assert.deepEqual(await refusal(`/ws/%E0%A4%A/guest?token=${token}`), {
        status: 400,
        code: 'VALIDATION_FAILED',
      })
      const slug = await createCampaign(live.app)
      assert.deepEqual(await refusal(`/ws/${slug}/%ZZ?token=${token}`), {
        status: 400,
        code: 'VALIDATION_FAILED',
      })
      assert.equal(await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="INTERNAL"'), before)
    })
  })
}
