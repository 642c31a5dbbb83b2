import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from '../helper.js'
import { waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

for (const dialect of DIALECTS) {
  describe(`presence when a guest joins (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_PRESENCE_LEAVE_MS: '1000' } })

    it('counts the guest session and the user it became once', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const { tokens } = live.app.platform
      const watcher = await live.openGuest(slug)
      const guest = await tokens.issueGuest()
      const asGuest = await live.open(`/ws/${slug}/guest?token=${guest.token}`)
      assert.equal(asGuest.frames[0].active_users, 2)
      // Joining keeps the guest session id; the page reconnects with the user's token.
      const user = await tokens.issueUser({
        userId: 'user_joined',
        sessionId: guest.principal.session_id,
        roles: ['participant'],
      })
      const asUser = await live.open(`/ws/${slug}/user_joined?token=${user.token}`)
      assert.equal(asUser.frames[0].active_users, 2, 'the session and its user are one person')
      const from = watcher.frames.length
      asGuest.close()
      // Another tab still on the guest token is the same person too.
      const oldTab = await live.open(`/ws/${slug}/guest?token=${guest.token}`)
      assert.equal(oldTab.frames[0].active_users, 2)
      oldTab.close()
      await new Promise((r) => setTimeout(r, 2500)) // past the leave debounce and count coalescing
      const seen = watcher.frames
        .slice(from)
        .filter((f) => f.type === 'presence_update')
        .map((f) => f.active_users)
      assert.ok(
        seen.every((n) => n === 2),
        `count changed while the person stayed: ${seen}`,
      )
      // The user leaving takes the whole person away (after the debounce).
      asUser.close()
      const latest = () =>
        [...watcher.frames].reverse().find((f) => f.type === 'presence_update')?.active_users
      await waitUntil(() => latest() === 1, 5000, 'count back to 1')
    })
  })
}
