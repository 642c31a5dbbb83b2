import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createClient, OvasabiError } from '../client/index.js'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  onTwoPostgresNodes,
  type TestContext,
} from './helper.js'

const PASSWORD = 'correct horse battery 42'
const mail = () => `me_${randomBytes(4).toString('hex')}@example.com`

const me = (app: FastifyInstance, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/api/auth/me', headers })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A new person joins campaign `slug` from a new guest session, with a password. */
async function join(app: FastifyInstance, slug: string, name: string) {
  const { token: guest, session_id } = await guestToken(app)
  const email = mail()
  const res = await app.inject({
    method: 'POST',
    url: '/api/user/register',
    headers: bearer(guest),
    payload: { campaign: slug, email, name, password: PASSWORD },
  })
  assert.equal(res.statusCode, 201, res.body)
  return { ...json(res), email, guest_session: session_id }
}

for (const dialect of DIALECTS) {
  describe(`GET /api/auth/me (${dialect})`, () => {
    let ctx: TestContext
    before(async () => {
      ctx = await buildTestApp({ dialect })
    })
    after(() => ctx.close())

    it('is 401 without a credential, or with one that is no token or key', async () => {
      const tries: Array<Record<string, string>> = [
        {},
        bearer('not.a.token'),
        { authorization: 'Basic abc' },
        { 'x-api-key': 'ovs_nope' },
      ]
      for (const headers of tries) {
        const res = await me(ctx.app, headers)
        assert.equal(res.statusCode, 401, JSON.stringify(headers))
        assert.equal(json(res).status, 'error')
      }
    })

    it('answers a guest session with its session and roles, and no profile', async () => {
      const guest = await guestToken(ctx.app)
      const res = await me(ctx.app, bearer(guest.token))
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.headers['cache-control'], 'no-store')
      assert.deepEqual(json(res), {
        kind: 'session',
        user_id: 'guest',
        session_id: guest.session_id,
        roles: ['guest'],
        expires_at: (guest as unknown as { expires_at: string }).expires_at,
        user: null,
      })
    })

    it("answers a person with their own profile and campaigns, never another person's", async () => {
      const first = await createCampaign(ctx.app)
      const second = await createCampaign(ctx.app)
      const ann = await join(ctx.app, first, 'Ann')
      const bo = await join(ctx.app, first, 'Bo')
      // Ann joins a second campaign with her own token: the same person, the same session.
      const again = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: bearer(ann.token),
        payload: { campaign: second, email: ann.email, name: 'Ann' },
      })
      assert.equal(again.statusCode, 201, again.body)

      const res = await me(ctx.app, bearer(ann.token))
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.deepEqual(body, {
        kind: 'user',
        user_id: ann.user.id,
        session_id: ann.guest_session,
        roles: ['participant'],
        expires_at: ann.expires_at,
        user: {
          id: ann.user.id,
          email: ann.email,
          // Not confirmed by a mailed link (see email-verification.test.ts).
          email_verified_at: null,
          display_name: 'Ann',
          locale: null,
          campaigns: [
            { campaign: first, referral_code: ann.user.referral_code, joined_at: ann.user.joined_at },
            {
              campaign: second,
              referral_code: json(again).user.referral_code,
              joined_at: json(again).user.joined_at,
            },
          ],
        },
      })
      // Nothing of Bo, who joined the same campaign.
      assert.ok(!res.body.includes(bo.email) && !res.body.includes(bo.user.id))
      assert.ok(!res.body.includes(bo.user.referral_code))
      const his = json(await me(ctx.app, bearer(bo.token)))
      assert.equal(his.user.email, bo.email)
      assert.ok(!JSON.stringify(his).includes(ann.email))
    })

    it('answers an API key with its role, no expiry and no profile', async () => {
      for (const headers of [{ 'x-api-key': ADMIN_KEY }, bearer(ADMIN_KEY)]) {
        const res = await me(ctx.app, headers)
        assert.equal(res.statusCode, 200, res.body)
        const body = json(res)
        assert.equal(body.kind, 'apikey')
        assert.match(body.user_id, /^apikey:/)
        assert.deepEqual(body.roles, ['admin'])
        assert.equal(body.expires_at, null)
        assert.equal(body.user, null)
      }
      const editor = await ctx.app.platform.apiKeys.create({
        name: `me_${randomBytes(3).toString('hex')}`,
        role: 'editor',
      })
      assert.deepEqual(json(await me(ctx.app, { 'x-api-key': editor.key })).roles, ['editor'])
      assert.equal(await ctx.app.platform.apiKeys.revoke(editor.id), true)
      const revoked = await me(ctx.app, { 'x-api-key': editor.key })
      assert.equal(revoked.statusCode, 401)
      assert.equal(json(revoked).error.code, 'INVALID_API_KEY')
    })

    it('refuses a token logged out (TOKEN_REVOKED), guest and user alike', async () => {
      const slug = await createCampaign(ctx.app)
      const ann = await join(ctx.app, slug, 'Ann')
      assert.equal((await me(ctx.app, bearer(ann.token))).statusCode, 200)
      const out = await ctx.app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: bearer(ann.token),
      })
      assert.equal(out.statusCode, 200, out.body)
      const res = await me(ctx.app, bearer(ann.token))
      assert.equal(res.statusCode, 401)
      assert.equal(json(res).error.code, 'TOKEN_REVOKED')

      const guest = await guestToken(ctx.app)
      await ctx.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(guest.token) })
      assert.equal(json(await me(ctx.app, bearer(guest.token))).error.code, 'TOKEN_REVOKED')
    })

    it('refuses the token of a person erased (TOKEN_REVOKED)', async () => {
      const slug = await createCampaign(ctx.app)
      const ann = await join(ctx.app, slug, 'Ann')
      const erased = await ctx.app.inject({
        method: 'DELETE',
        url: `/api/user/${ann.user.id}`,
        headers: bearer(ann.token),
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const res = await me(ctx.app, bearer(ann.token))
      assert.equal(res.statusCode, 401)
      assert.equal(json(res).error.code, 'TOKEN_REVOKED')
      assert.ok(!res.body.includes(ann.email))
    })

    it('is in the OpenAPI document, with its response schema', async () => {
      const doc = json(await ctx.app.inject({ method: 'GET', url: '/docs/openapi.json' }))
      const op = doc.paths['/api/auth/me']?.get
      assert.ok(op, 'GET /api/auth/me is documented')
      assert.equal(op.operationId, 'whoAmI')
      assert.ok(op.security?.length > 0)
      const ok = op.responses['200'].content['application/json'].schema
      assert.deepEqual(Object.keys(ok.properties).sort(), [
        'expires_at',
        'kind',
        'roles',
        'session_id',
        'user',
        'user_id',
      ])
      assert.ok(op.responses['401'])
    })

    it('is `auth.me()` in the SDK, over a real port', async () => {
      const baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      const slug = await createCampaign(ctx.app)
      const ovs = createClient({ baseUrl })
      const session = await ovs.createSession()
      const asGuest = await ovs.auth.me()
      assert.equal(asGuest.kind, 'session')
      assert.equal(asGuest.session_id, session.session_id)
      assert.equal(asGuest.user, null)

      const email = mail()
      const joined = await ovs.users.register({ campaign: slug, email, name: 'Cy', password: PASSWORD })
      const asUser = await ovs.auth.me()
      assert.equal(asUser.kind, 'user')
      assert.equal(asUser.user_id, joined.user.id)
      assert.equal(asUser.expires_at, joined.expires_at)
      assert.equal(asUser.user?.email, email)
      assert.deepEqual(
        asUser.user?.campaigns.map((c) => c.campaign),
        [slug],
      )

      const key = await createClient({ baseUrl, apiKey: ADMIN_KEY }).auth.me()
      assert.deepEqual([key.kind, key.roles, key.expires_at], ['apikey', ['admin'], null])

      const stale = createClient({ baseUrl, token: ovs.token })
      await ovs.users.logout()
      const err = await stale.auth.me().then(
        () => assert.fail('expected TOKEN_REVOKED'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof OvasabiError)
      assert.equal(err.status, 401)
      assert.equal(err.code, 'TOKEN_REVOKED')
    })
  })
}

if (process.env.DATABASE_URL) {
  describe('GET /api/auth/me on a node that has not heard of an erasure (postgres)', () => {
    it('refuses the erased person’s token though its revocation cache still says "valid"', async () => {
      await onTwoPostgresNodes(async (first, second) => {
        const slug = await createCampaign(first.app)
        const ann = await join(first.app, slug, 'Ann')
        // The second node checks the token: its cache trusts "not revoked" for 10 s.
        assert.equal((await me(second.app, bearer(ann.token))).statusCode, 200)
        const erased = await first.app.inject({
          method: 'DELETE',
          url: `/api/user/${ann.user.id}`,
          headers: bearer(ann.token),
        })
        assert.equal(erased.statusCode, 200, erased.body)
        // The nodes share no bus here: the second has not been told, yet answers nothing of her.
        const res = await me(second.app, bearer(ann.token))
        assert.equal(res.statusCode, 401, res.body)
        assert.equal(json(res).error.code, 'TOKEN_REVOKED')
      })
    })
  })
}
