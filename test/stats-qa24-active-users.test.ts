// `stats_update` carries `active_users`: a page that counts visitors from it (every page of a
// campaign without the `presence` feature, which gets no `presence_update`) must see the count move
// when people come and go, not only when a counter or the leaderboard changes.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCampaign, DIALECTS } from './helper.js'
import { realtimeSuite } from './realtime/fixtures.js'

const isStats = (f: any) => f.type === 'stats_update'

for (const dialect of DIALECTS) {
  describe(`stats_update follows active_users (${dialect})`, () => {
    // A leave counts once its grace has passed: none here, so a close is a leave at once.
    const live = realtimeSuite({ dialect, env: { WS_PRESENCE_LEAVE_MS: '0' } })

    it('sends the new count without the presence feature, as people join and leave', async () => {
      const slug = await createCampaign(live.app, {
        features: ['analytics', 'registration', 'referral'],
        metadata: { scheduling: { frequency: 20 } },
      })
      const a = await live.openGuest(slug)
      const first = await a.next(isStats)
      assert.equal(first.active_users, 1)
      const b = await live.openGuest(slug)
      const two = await a.next((f) => isStats(f) && f.active_users === 2)
      // The same figures otherwise: only the count moved.
      assert.deepEqual({ ...two, active_users: 1, timestamp: '' }, { ...first, timestamp: '' })
      assert.equal((await b.next(isStats)).active_users, 2)
      b.close()
      await a.next((f) => isStats(f) && f.active_users === 1, 10_000, a.frames.indexOf(two) + 1)
      assert.deepEqual(
        a.frames.filter((f) => f.type === 'presence_update'),
        [],
        'still no presence frame',
      )
    })

    it('carries the current count with the presence feature on too', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const a = await live.openGuest(slug)
      assert.equal((await a.next(isStats)).active_users, 1)
      await live.openGuest(slug)
      await a.next((f) => f.type === 'presence_update' && f.active_users === 2)
      await a.next((f) => isStats(f) && f.active_users === 2)
    })
  })
}
