import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { baseUrl, connect, type TestClient, waitUntil } from './client.js'

for (const dialect of DIALECTS) {
  describe(`presence when a guest joins (${dialect})`, () => {
    let ctx: TestContext
    let url: string
    const clients: TestClient[] = []
    const open = async (path: string) => {
      const c = await connect(`${url}${path}`)
      clients.push(c)
      return c
    }

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { WS_PRESENCE_LEAVE_MS: '1000' } })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      url = baseUrl(ctx.app)
    })
    after(async () => {
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('counts the guest session and the user it became once', async () => {
      const slug = await createCampaign(ctx.app, { metadata: { scheduling: { frequency: 20 } } })
      const { tokens } = ctx.app.platform
      const watcher = await open(`/ws/${slug}/guest?token=${(await tokens.issueGuest()).token}`)
      const guest = await tokens.issueGuest()
      const asGuest = await open(`/ws/${slug}/guest?token=${guest.token}`)
      assert.equal(asGuest.frames[0].active_users, 2)
      // Joining keeps the guest session id; the page reconnects with the user's token.
      const user = await tokens.issueUser({
        userId: 'user_joined',
        sessionId: guest.principal.session_id,
        roles: ['participant'],
      })
      const asUser = await open(`/ws/${slug}/user_joined?token=${user.token}`)
      assert.equal(asUser.frames[0].active_users, 2, 'the session and its user are one person')
      const from = watcher.frames.length
      asGuest.close()
      // Another tab still on the guest token is the same person too.
      const oldTab = await open(`/ws/${slug}/guest?token=${guest.token}`)
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
