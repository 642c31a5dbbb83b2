import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Value } from 'typebox/value'
import { StatsUpdateFrame } from '../../src/amadeus/frames.schema.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json } from '../helper.js'
import { framesSent, realtimeSuite } from './fixtures.js'

const mail = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`
const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
const isStats = (f: any) => f.type === 'stats_update'

for (const dialect of DIALECTS) {
  describe(`realtime stats_update (${dialect})`, () => {
    const live = realtimeSuite({ dialect })
    const submitLead = async (slug: string, email = mail('lead')) => {
      const { token } = await guestToken(live.app)
      const res = await live.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: 'Lead Person', email, message: 'Forty stands', consent: true },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
    const join = async (slug: string, name: string, email: string, referral_code?: string) => {
      const res = await live.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': ip() },
        payload: { campaign: slug, email, name, ...(referral_code ? { referral_code } : {}) },
      })
      assert.ok(res.statusCode < 300, res.body)
      return json(res).user as { email: string; referral_code: string }
    }
    const restCounters = async (slug: string) => {
      const res = await live.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/stats`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).counters as Record<string, number>
    }

    // Leads are counted in public only where a campaign says so.
    const withLeads = (frequency: number) => ({
      scheduling: { frequency },
      custom_rules: { public_counters: ['leads', 'registrations', 'referrals_qualified'] },
    })

    it('sends the campaign counters, as REST lists them, soon after connecting', async () => {
      const slug = await createCampaign(live.app, { metadata: withLeads(10) })
      await submitLead(slug)
      const sentBefore = await framesSent(live.app, 'stats_update')
      const c = await live.openGuest(slug)
      const f = await c.next(isStats)
      assert.equal(c.frames[0].type, 'connected', 'connected stays the first frame')
      assert.ok(Value.Check(StatsUpdateFrame, f), JSON.stringify([...Value.Errors(StatsUpdateFrame, f)]))
      assert.equal(f.campaign_id, slug)
      assert.equal(f.active_users, 1)
      assert.ok(Date.parse(f.timestamp) > 0)
      assert.equal(f.counters.leads, 1)
      const rest = await restCounters(slug)
      assert.deepEqual(f.counters, {
        leads: rest.leads,
        registrations: rest.registrations ?? 0,
        referrals_qualified: rest.referrals_qualified ?? 0,
      })
      assert.ok(
        (await framesSent(live.app, 'stats_update')) > sentBefore,
        'counted in the frames-sent metric',
      )
    })

    it('keeps counters a campaign does not make public (leads by default) out of the frame', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      await submitLead(slug)
      const c = await live.openGuest(slug)
      const f = await c.next(isStats)
      assert.deepEqual(f.counters, { registrations: 0, referrals: 0, referrals_qualified: 0 })
      assert.equal((await restCounters(slug)).leads, 1)
    })

    it('sends a later stats_update after a lead and after a registration', async () => {
      const slug = await createCampaign(live.app, { metadata: withLeads(20) })
      const c = await live.openGuest(slug)
      const first = await c.next(isStats)
      assert.equal(first.counters.leads ?? 0, 0)
      assert.equal(first.counters.registrations ?? 0, 0)
      await submitLead(slug)
      const afterLead = await c.next((f) => isStats(f) && f.counters.leads === 1)
      await join(slug, 'Member', mail('member'))
      const afterJoin = await c.next((f) => isStats(f) && f.counters.registrations === 1)
      assert.equal(afterJoin.counters.leads, 1)
      assert.ok(c.frames.indexOf(afterLead) < c.frames.indexOf(afterJoin))
    })

    it('ranks a qualified referrer by display name, with no email address in any frame', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const c = await live.openGuest(slug)
      const first = await c.next(isStats)
      assert.deepEqual(first.leaderboard, [], 'the referral feature is on: an empty board')
      const ada = await join(slug, 'Ada Stats', mail('ada'))
      const bob = await join(slug, 'Bob Stats', mail('bob'), ada.referral_code)
      const ranked = await c.next((f) => isStats(f) && f.leaderboard.length > 0)
      assert.deepEqual(ranked.leaderboard, [{ rank: 1, display_name: 'Ada Stats', referrals: 1 }])
      assert.equal(ranked.counters.referrals_qualified, 1)
      for (const f of c.frames.filter(isStats)) {
        const raw = JSON.stringify(f)
        assert.ok(!raw.includes(ada.email) && !raw.includes(bob.email), raw)
        assert.doesNotMatch(raw, /@/, raw)
      }
    })

    it('does not repeat a stats_update while nothing changes', async () => {
      const slug = await createCampaign(live.app, { features: ['presence', 'quote'], metadata: withLeads(1) })
      const c = await live.openGuest(slug)
      await c.next(isStats)
      await submitLead(slug)
      await c.next((f) => isStats(f) && f.counters.leads === 1)
      // Several 1 Hz ticks (and figure reads) pass with nothing changing.
      await new Promise((r) => setTimeout(r, 2500))
      const sent = c.frames.filter(isStats)
      assert.equal(sent.length, 2, JSON.stringify(sent))
      assert.equal(c.closed, undefined)
    })

    it('sends no leaderboard when the campaign has no referral feature', async () => {
      const slug = await createCampaign(live.app, {
        features: ['presence', 'quote', 'registration'],
        metadata: withLeads(20),
      })
      const c = await live.openGuest(slug)
      const first = await c.next(isStats)
      assert.ok(!('leaderboard' in first), JSON.stringify(first))
      await submitLead(slug)
      const later = await c.next((f) => isStats(f) && f.counters.leads === 1)
      assert.ok(!('leaderboard' in later), JSON.stringify(later))
      assert.ok(Value.Check(StatsUpdateFrame, later))
    })
  })
}
