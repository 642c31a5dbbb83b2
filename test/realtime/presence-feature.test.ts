// A campaign whose `metadata.features` lacks `presence` broadcasts no `presence_update`: not the
// first snapshot, not a count change. Turned on, every socket starts from a snapshot.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'

const isPresence = (f: any) => f.type === 'presence_update'
const isStats = (f: any) => f.type === 'stats_update'

for (const dialect of DIALECTS) {
  describe(`realtime presence_update follows the campaign's presence feature (${dialect})`, () => {
    let ctx: TestContext
    let url: string
    const clients: TestClient[] = []
    const open = async (slug: string) => {
      const { token } = await ctx.app.platform.tokens.issueGuest()
      const c = await connect(`${url}/ws/${slug}/guest?token=${token}`)
      clients.push(c)
      return c
    }
    const setFeatures = async (slug: string, features: string[]) => {
      const res = await ctx.app.inject({
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

    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      url = baseUrl(ctx.app)
    })
    after(async () => {
      for (const c of clients) c.close()
      await ctx.close()
    })

    it('sends none without the feature, and a snapshot once it is turned on', async () => {
      const slug = await createCampaign(ctx.app, {
        features: ['analytics', 'registration'],
        metadata: { scheduling: { frequency: 20 } },
      })
      const a = await open(slug)
      // A socket's first tick writes its presence snapshot before its first stats_update.
      await a.next(isStats)
      const b = await open(slug)
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
      const slug = await createCampaign(ctx.app, {
        features: ['analytics', 'presence'],
        metadata: { scheduling: { frequency: 20 } },
      })
      const a = await open(slug)
      await a.next((f) => isPresence(f) && f.snapshot === true)
      await setFeatures(slug, ['analytics'])
      const from = await presenceOff(a)
      // A newcomer changes the count (a presence frame to `a` when on) and gets no snapshot.
      const b = await open(slug)
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
