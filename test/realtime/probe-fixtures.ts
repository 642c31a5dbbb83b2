// What the probe suites (a plain GET of `/ws/…` against the upgrade) are refused on: campaigns in
// every state a socket is refused in, and the credentials they present.
import assert from 'node:assert/strict'
import { adminHeaders, createCampaign } from '../helper.js'
import type { RealtimeSuite } from './fixtures.js'

/**
 * An active campaign (`slug`), a draft and an archived one, a guest token, and the user token of a
 * participant `userId` (to present as a cookie).
 */
export async function probeTargets(live: RealtimeSuite, userId: string) {
  const slug = await createCampaign(live.app)
  const draft = await createCampaign(live.app, { draft: true })
  const archived = await createCampaign(live.app)
  const res = await live.app.inject({
    method: 'DELETE',
    url: `/api/campaign/${archived}`,
    headers: adminHeaders,
  })
  assert.equal(res.statusCode, 200, res.body)
  const guest = await live.guestToken()
  const user = (await live.app.platform.tokens.issueUser({ userId, roles: ['participant'] })).token
  return { slug, draft, archived, guest, user }
}
