// `PATCH /api/auth/me`: a person changes their own display name or locale, by their own token.
// The leaderboard shows the new name; the locale is stored as a join stores it. Anyone else (a
// guest session, an API key, no credential, an erased person's token) changes nothing, and a body
// that asks for anything else (an address, an unknown field, nothing at all) is refused whole.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createClient, OvasabiError } from '../client/index.js'
import {
  ADMIN_KEY,
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  listenLocally,
  newMember,
  type TestContext,
} from './helper.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const patchMe = (app: FastifyInstance, headers: Record<string, string>, payload: unknown) =>
  app.inject({ method: 'PATCH', url: '/api/auth/me', headers, payload: payload as object })

for (const dialect of DIALECTS) {
  describe(`PATCH /api/auth/me (${dialect})`, () => {
    let ctx: TestContext
    let slug: string
    before(async () => {
      ctx = await buildTestApp({ dialect })
      slug = await createCampaign(ctx.app)
    })
    after(() => ctx?.close())

    it('changes the caller’s display name and locale, answered as GET /api/auth/me', async () => {
      const ada = await newMember(ctx.app, slug)
      const res = await patchMe(ctx.app, bearer(ada.token), { display_name: '  Ada L.  ', locale: 'pt_br' })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      const body = json(res)
      assert.equal(body.kind, 'user')
      assert.equal(body.user.id, ada.id)
      assert.equal(body.user.display_name, 'Ada L.')
      assert.equal(body.user.locale, 'pt-BR')
      assert.equal(body.user.email, ada.email)
      const read = await ctx.app.inject({ url: '/api/auth/me', headers: bearer(ada.token) })
      assert.deepEqual(json(read).user, body.user)

      // One field at a time leaves the other; a null locale is English again.
      const named = json(await patchMe(ctx.app, bearer(ada.token), { display_name: 'Ada Lovelace' }))
      assert.equal(named.user.display_name, 'Ada Lovelace')
      assert.equal(named.user.locale, 'pt-BR')
      const english = json(await patchMe(ctx.app, bearer(ada.token), { locale: null }))
      assert.equal(english.user.display_name, 'Ada Lovelace')
      assert.equal(english.user.locale, null)
    })

    it('puts the new name on the leaderboard, and changes nobody else', async () => {
      const campaign = await createCampaign(ctx.app)
      const ada = await newMember(ctx.app, campaign, 'ada')
      const grace = await newMember(ctx.app, campaign, 'grace')
      const code = json(await ctx.app.inject({ url: '/api/auth/me', headers: bearer(ada.token) })).user
        .campaigns[0].referral_code
      const { token: guest } = await guestToken(ctx.app)
      const referred = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(guest),
        payload: {
          campaign,
          name: 'Bea',
          email: `bea.${randomBytes(5).toString('hex')}@example.org`,
          referral_code: code,
        },
      })
      assert.equal(referred.statusCode, 201, referred.body)

      const renamed = await patchMe(ctx.app, bearer(ada.token), { display_name: 'Countess of Lovelace' })
      assert.equal(renamed.statusCode, 200, renamed.body)
      const board = await ctx.app.inject({
        url: `/api/campaign/${campaign}/referrals/leaderboard`,
        headers: adminHeaders,
      })
      assert.equal(board.statusCode, 200, board.body)
      const names = JSON.stringify(json(board))
      assert.match(names, /Countess of Lovelace/)
      assert.doesNotMatch(names, /"Ada"/)
      const other = json(await ctx.app.inject({ url: '/api/auth/me', headers: bearer(grace.token) }))
      assert.equal(other.user.display_name, 'Ada')
    })

    it('refuses, changing nothing, a body that asks for anything else or is not a profile', async () => {
      const ada = await newMember(ctx.app, slug)
      const bodies: unknown[] = [
        {},
        { email: 'someone.else@example.org' },
        { display_name: 'Ada', role: 'admin' },
        { display_name: '' },
        { display_name: '   ' },
        { display_name: 'Ada\nAdmin' },
        { display_name: 'x'.repeat(101) },
        { display_name: 42 },
        { locale: 'not a language' },
        { locale: 7 },
        [],
      ]
      for (const body of bodies) {
        const res = await patchMe(ctx.app, bearer(ada.token), body)
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', res.body)
      }
      // Each problem names its field, in words a person can act on.
      const locale = json(await patchMe(ctx.app, bearer(ada.token), { locale: 'not a language' }))
      assert.deepEqual(
        locale.error.details.map((d: { path: string }) => d.path),
        ['/locale'],
        JSON.stringify(locale),
      )
      assert.equal(
        locale.error.details[0].message,
        'must be a language tag such as en, pt-BR or zh_Hant_TW, or null',
      )
      const unknown = json(await patchMe(ctx.app, bearer(ada.token), { email: 'someone.else@example.org' }))
      assert.match(JSON.stringify(unknown.error.details), /email/)
      const malformed = await ctx.app.inject({
        method: 'PATCH',
        url: '/api/auth/me',
        headers: { ...bearer(ada.token), 'content-type': 'application/json' },
        payload: '{"display_name":',
      })
      assert.equal(malformed.statusCode, 400, malformed.body)
      const read = json(await ctx.app.inject({ url: '/api/auth/me', headers: bearer(ada.token) }))
      assert.equal(read.user.display_name, 'Ada')
      assert.equal(read.user.locale, null)
    })

    it('has no profile to change for a guest session or an API key, and none without a credential', async () => {
      const { token: guest } = await guestToken(ctx.app)
      const asGuest = await patchMe(ctx.app, bearer(guest), { display_name: 'Guest' })
      assert.equal(asGuest.statusCode, 403, asGuest.body)
      assert.equal(json(asGuest).error.code, 'PERSON_REQUIRED')
      const asKey = await patchMe(ctx.app, { 'x-api-key': ADMIN_KEY }, { display_name: 'Key' })
      assert.equal(asKey.statusCode, 403, asKey.body)
      assert.equal(json(asKey).error.code, 'PERSON_REQUIRED')
      const anonymous = await patchMe(ctx.app, {}, { display_name: 'Nobody' })
      assert.equal(anonymous.statusCode, 401, anonymous.body)
    })

    it('refuses an erased person’s token, and writes nothing to their erased row', async () => {
      const ada = await newMember(ctx.app, slug)
      const erased = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/user/${ada.id}`,
        headers: bearer(ada.token),
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const res = await patchMe(ctx.app, bearer(ada.token), { display_name: 'Back again' })
      assert.equal(res.statusCode, 401, res.body)
      const row = await ctx.app.platform.database.db
        .selectFrom('service_user_master')
        .select(['display_name', 'locale'])
        .where('id', '=', ada.id)
        .executeTakeFirstOrThrow()
      assert.notEqual(row.display_name, 'Back again')
    })

    it('is the SDK’s auth.updateMe', async () => {
      const ada = await newMember(ctx.app, slug)
      const client = createClient({ baseUrl: await listenLocally(ctx.app), token: ada.token })
      const me = await client.auth.updateMe({ display_name: 'Ada from the SDK', locale: 'de' })
      assert.equal(me.user?.display_name, 'Ada from the SDK')
      assert.equal(me.user?.locale, 'de')
      await assert.rejects(
        client.auth.updateMe({} as never),
        (err: unknown) => err instanceof OvasabiError && err.status === 400,
      )
    })
  })
}
