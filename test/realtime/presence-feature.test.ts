// A campaign whose `metadata.features` lacks `presence` broadcasts no `presence_update`: not the
// first snapshot, not a count change. Turned on, every socket starts from a snapshot.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS } from '../helper.js'
import type { TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

const isPresence = (f: any) => f.type === 'presence_update'
const isStats = (f: any) => f.type === 'stats_update'

for (const dialect of DIALECTS) {
  describe(`realtime presence_update follows the campaign's presence feature (${dialect})`, () => {
    const live = realtimeSuite({ dialect })
    const setFeatures = async (slug: string, features: string[]) => {
      const res = await live.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { metadata: { scheduling: { frequency: 20 }, features } },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    /**
     * The room applied the change once a cursor is refused (the same settings decide both). The
     * change reaches the room through the bus after the PATCH answered: a cursor sent before that
     * is accepted, so one more goes out until one is refused.
     */
    const presenceOff = async (c: TestClient) => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const from = c.frames.length
        c.send({ type: 'cursor', x: 0.5, y: 0.5 })
        const err = await c.next((f) => f.type === 'error', 500, from).catch(() => undefined)
        if (!err) continue
        assert.equal(err.code, 'FEATURE_DISABLED')
        return c.frames.length
      }
      throw new Error('cursors were still accepted')
    }

    it('sends none without the feature, and a snapshot once it is turned on', async () => {
      const slug = await createCampaign(live.app, {
        features: ['analytics', 'registration'],
        metadata: { scheduling: { frequency: 20 } },
      })
      const a = await live.openGuest(slug)
      // A socket's first tick writes its presence snapshot before its first stats_update.
      await a.next(isStats)
      const b = await live.openGuest(slug)
      await b.next(isStats)
      await presenceOff(a)
      assert.deepEqual(a.frames.filter(isPresence), [])
      assert.deepEqual(b.frames.filter(isPresence), [])

      await setFeatures(slug, ['analytics', 'registration', 'presence'])
      for (const c of [a, b]) {
        const p = await c.next(isPresence)
        assert.equal(p.snapshot, true)
        assert.equal(p.active_users, 2)
      }
    })

    it('stops when the feature is turned off, and starts again from a snapshot', async () => {
      const slug = await createCampaign(live.app, {
        features: ['analytics', 'presence'],
        metadata: { scheduling: { frequency: 20 } },
      })
      const a = await live.openGuest(slug)
      await a.next((f) => isPresence(f) && f.snapshot === true)
      await setFeatures(slug, ['analytics'])
      const from = await presenceOff(a)
      // A newcomer changes the count (a presence frame to `a` when on) and gets no snapshot.
      const b = await live.openGuest(slug)
      await b.next(isStats)
      await presenceOff(b)
      assert.deepEqual(a.frames.slice(from).filter(isPresence), [])
      assert.deepEqual(b.frames.filter(isPresence), [])

      const back = a.frames.length
      await setFeatures(slug, ['analytics', 'presence'])
      const again = await a.next(isPresence, 10_000, back)
      assert.equal(again.snapshot, true, 'what changed while off reaches it as a snapshot')
      assert.equal(again.active_users, 2)
      assert.equal((await b.next(isPresence)).snapshot, true)
    })
  })
}
