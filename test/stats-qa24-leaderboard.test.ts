// The referral leaderboard as a campaign team and a hostile visitor see it: the REST board and the
// one `stats_update` carries are the same length unless the caller asks otherwise, and people who
// erased themselves cost the board's reads nothing (it is read every second on every node).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createReferralService } from '../src/modules/referral/referral.service.js'
import { displayNames } from '../src/modules/user/user.repo.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { realtimeSuite } from './realtime/fixtures.js'

const mail = (tag: string) => `${tag}_${randomBytes(4).toString('hex')}@example.com`
const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
const isStats = (f: any) => f.type === 'stats_update'

for (const dialect of DIALECTS) {
  describe(`referral leaderboard, REST and stats_update (${dialect})`, () => {
    const live = realtimeSuite({ dialect })
    const join = async (slug: string, name: string, referral_code?: string) => {
      const res = await live.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': ip() },
        payload: { campaign: slug, email: mail('p'), name, ...(referral_code ? { referral_code } : {}) },
      })
      assert.ok(res.statusCode < 300, res.body)
      return json(res).user as { referral_code: string }
    }
    const board = async (slug: string, query = '') => {
      const res = await live.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/referrals/leaderboard${query}`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      return json(res).entries as Array<{ rank: number; display_name: string; referrals: number }>
    }

    it("lists as many referrers as the campaign's leaderboard_size unless a limit is given", async () => {
      const slug = await createCampaign(live.app, {
        metadata: { scheduling: { frequency: 20 }, custom_rules: { leaderboard_size: 12 } },
      })
      for (let i = 0; i < 13; i++) {
        const referrer = await join(slug, `Referrer ${i}`)
        await join(slug, `Friend ${i}`, referrer.referral_code)
      }
      const socket = await live.openGuest(slug)
      const live12 = await socket.next((f) => isStats(f) && f.leaderboard?.length === 12)
      const rest = await board(slug)
      assert.equal(rest.length, 12, 'the REST board is the broadcast one')
      assert.deepEqual(rest, live12.leaderboard)
      // An explicit limit still wins, both ways.
      assert.deepEqual(await board(slug, '?limit=3'), live12.leaderboard.slice(0, 3))
      assert.equal((await board(slug, '?limit=13')).length, 13)
      // Without leaderboard_size both default to 10.
      const plain = await createCampaign(live.app)
      for (let i = 0; i < 11; i++) {
        const referrer = await join(plain, `Plain ${i}`)
        await join(plain, `Plain friend ${i}`, referrer.referral_code)
      }
      assert.equal((await board(plain)).length, 10)
    })

    it('reads past erased referrers in the database, not a page of names at a time', async () => {
      const slug = `board_${randomBytes(4).toString('hex')}`
      const { db } = live.app.platform.database
      const tag = randomBytes(4).toString('hex')
      // 100 erased people above three living ones: a hostile visitor can make those (join, be
      // referred by a second account, erase the first), and the board is read every second.
      const erased = Array.from({ length: 100 }, (_, i) => `gone_${tag}_${i}`)
      const living = ['ada', 'bo', 'cy'].map((n) => `${n}_${tag}`)
      await db
        .insertInto('service_user_master')
        .values([
          ...erased.map((id) => ({
            id,
            email: null,
            display_name: '',
            metadata: '{}',
            consent: null,
            updated_at: new Date(),
            erased_at: new Date(),
          })),
          ...living.map((id) => ({
            id,
            email: `${id}@example.com`,
            display_name: id.toUpperCase(),
            metadata: '{}',
            consent: null,
            updated_at: new Date(),
          })),
        ])
        .execute()
      await db
        .insertInto('service_referral_counter')
        .values(
          [...erased, ...living].map((user_id, i) => ({
            campaign_slug: slug,
            user_id,
            qualified: i < erased.length ? 5 : 1,
            pending: 0,
            updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)),
          })),
        )
        .execute()
      const asked: string[][] = []
      const referrals = createReferralService({
        db,
        publisher: live.app.publisher,
        users: {
          findMember: async () => undefined,
          sessionIds: async () => [],
          displayNames: (ids) => {
            asked.push(ids)
            return displayNames(db, ids)
          },
        },
      })
      const top = await referrals.leaderboard(slug, 10)
      assert.deepEqual(top, [
        { rank: 1, display_name: living[0]!.toUpperCase(), referrals: 1 },
        { rank: 2, display_name: living[1]!.toUpperCase(), referrals: 1 },
        { rank: 3, display_name: living[2]!.toUpperCase(), referrals: 1 },
      ])
      assert.equal(asked.length, 1, `one page read, not ${asked.length}`)
      assert.ok(
        asked.flat().every((id) => !erased.includes(id)),
        'no erased person is looked up by name',
      )
    })
  })
}
