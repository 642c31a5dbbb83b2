// API keys over the API (`/api/apikeys`), as `ovasabi apikey` manages them from the shell: an
// admin (person or key for every campaign) makes a key (shown once), lists keys (never the key,
// newest first) and revokes one (refused at once after, 401 `INVALID_API_KEY`). Anyone else is
// refused: a participant or editor person, a guest, a campaign-scoped key (403
// `API_KEY_CAMPAIGN_SCOPE`, so no scoped key can make a key). Over a real port.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  listenLocally,
  type TestContext,
  uniqueSlug,
  userToken,
} from './helper.js'

type Auth = { key: string } | { token: string }

for (const dialect of DIALECTS) {
  describe(`API keys over the API (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let base: string
    let slug: string
    const admin: Auth = { key: ADMIN_KEY }

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
      base = await listenLocally(app)
      slug = await createCampaign(app)
    })
    after(() => ctx.close())

    async function call(auth: Auth | undefined, method: string, path: string, body?: unknown) {
      const headers: Record<string, string> = {}
      if (auth && 'key' in auth) headers['x-api-key'] = auth.key
      if (auth && 'token' in auth) headers.authorization = `Bearer ${auth.token}`
      if (body !== undefined) headers['content-type'] = 'application/json'
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      return { status: res.status, text, body: text ? JSON.parse(text) : undefined }
    }
    const campaignList = (auth: Auth) => call(auth, 'GET', '/api/campaign')

    it('an admin key makes a key, shown once, that works; the list never shows it, newest first', async () => {
      const first = await call(admin, 'POST', '/api/apikeys', { name: 'ci deploys', role: 'editor' })
      assert.equal(first.status, 201, first.text)
      assert.match(first.body.key, /^ovs_/)
      assert.equal(first.body.name, 'ci deploys')
      assert.equal(first.body.role, 'editor')
      assert.equal(first.body.campaigns, null)
      assert.equal(first.body.expires_at, null)
      assert.ok(Date.parse(first.body.created_at))
      assert.equal((await campaignList({ key: first.body.key })).status, 200, 'the new key works')

      const second = await call(admin, 'POST', '/api/apikeys', {
        name: 'agency',
        role: 'admin',
        campaigns: [slug],
        expires_in_seconds: 3600,
      })
      assert.equal(second.status, 201, second.text)
      assert.deepEqual(second.body.campaigns, [slug])
      const expires = Date.parse(second.body.expires_at) - Date.now()
      assert.ok(expires > 3000_000 && expires <= 3600_000, second.body.expires_at)

      const listed = await call(admin, 'GET', '/api/apikeys')
      assert.equal(listed.status, 200, listed.text)
      assert.ok(!listed.text.includes(first.body.key) && !listed.text.includes(second.body.key), 'no key')
      assert.ok(!listed.text.includes('key_hash'))
      const ids = listed.body.keys.map((k: { id: string }) => k.id)
      assert.ok(ids.indexOf(second.body.id) < ids.indexOf(first.body.id), 'newest first')
      const row = listed.body.keys.find((k: { id: string }) => k.id === second.body.id)
      assert.equal(row.status, 'active')
      assert.deepEqual(row.campaigns, [slug])
      assert.equal(row.key, undefined)
    })

    it('an admin revokes a key: refused at once, INVALID_API_KEY; revoking again answers the same', async () => {
      const made = await call(admin, 'POST', '/api/apikeys', { name: 'to revoke', role: 'admin' })
      assert.equal((await campaignList({ key: made.body.key })).status, 200)
      const revoked = await call(admin, 'DELETE', `/api/apikeys/${made.body.id}`)
      assert.equal(revoked.status, 200, revoked.text)
      assert.equal(revoked.body.status, 'revoked')
      const refused = await campaignList({ key: made.body.key })
      assert.equal(refused.status, 401, refused.text)
      assert.equal(refused.body.error.code, 'INVALID_API_KEY')
      const again = await call(admin, 'DELETE', `/api/apikeys/${made.body.id}`)
      assert.equal(again.status, 200, again.text)
      assert.equal(again.body.revoked_at, revoked.body.revoked_at)
      const listed = await call(admin, 'GET', '/api/apikeys')
      assert.equal(listed.body.keys.find((k: { id: string }) => k.id === made.body.id).status, 'revoked')
      const unknown = await call(admin, 'DELETE', '/api/apikeys/nosuchkey')
      assert.equal(unknown.status, 404, unknown.text)
      assert.equal(unknown.body.error.code, 'API_KEY_NOT_FOUND')
    })

    it('an admin person may manage keys; the configured key cannot be revoked here', async () => {
      const person: Auth = { token: await userToken(app, 'usr_apikey_admin', ['admin']) }
      const made = await call(person, 'POST', '/api/apikeys', { name: 'by a person', role: 'participant' })
      assert.equal(made.status, 201, made.text)
      assert.equal((await call(person, 'GET', '/api/apikeys')).status, 200)
      const listed = await call(person, 'GET', '/api/apikeys')
      const configured = listed.body.keys.find((k: { name: string }) => k.name === 'OVASABI_ADMIN_KEY')
      const refused = await call(person, 'DELETE', `/api/apikeys/${configured.id}`)
      assert.equal(refused.status, 409, refused.text)
      assert.equal(refused.body.error.code, 'CONFIGURED_API_KEY')
      assert.equal((await campaignList(admin)).status, 200, 'the configured key still works')
      const reserved = await call(person, 'POST', '/api/apikeys', {
        name: 'OVASABI_ADMIN_KEY',
        role: 'admin',
      })
      assert.equal(reserved.status, 409, reserved.text)
      assert.equal(reserved.body.error.code, 'API_KEY_NAME_RESERVED')
    })

    it('participant and editor persons, guests and editor keys are 403; no credential is 401', async () => {
      const participant = { token: await userToken(app, 'usr_apikey_part') }
      const editor = {
        token: (await app.platform.tokens.issueUser({ userId: 'usr_apikey_ed', roles: ['editor'] })).token,
      }
      const guest = { token: (await guestToken(app)).token }
      const editorKey = { key: (await app.platform.apiKeys.create({ name: 'ed', role: 'editor' })).key }
      const target = (await app.platform.apiKeys.create({ name: 'target', role: 'editor' })).id
      for (const [who, auth] of Object.entries({ participant, editor, guest, editorKey })) {
        for (const [method, path, body] of [
          ['POST', '/api/apikeys', { name: 'x', role: 'participant' }],
          ['GET', '/api/apikeys', undefined],
          ['DELETE', `/api/apikeys/${target}`, undefined],
        ] as const) {
          const res = await call(auth, method, path, body)
          assert.equal(res.status, 403, `${who} ${method}: ${res.text}`)
          assert.equal(res.body.error.code, 'FORBIDDEN', `${who} ${method}`)
        }
      }
      const anonymous = await call(undefined, 'POST', '/api/apikeys', { name: 'x', role: 'admin' })
      assert.equal(anonymous.status, 401, anonymous.text)
      assert.ok(
        (await call(admin, 'GET', '/api/apikeys')).body.keys.some(
          (k: { id: string; status: string }) => k.id === target && k.status === 'active',
        ),
      )
    })

    it('a campaign-scoped admin key can never make, list or revoke a key', async () => {
      const scoped = {
        key: (await app.platform.apiKeys.create({ name: 's', role: 'admin', campaigns: [slug] })).key,
      }
      for (const [method, path, body] of [
        ['POST', '/api/apikeys', { name: 'escalate', role: 'admin' }],
        ['POST', '/api/apikeys', { name: 'same scope', role: 'admin', campaigns: [slug] }],
        ['GET', '/api/apikeys', undefined],
        ['DELETE', '/api/apikeys/whatever', undefined],
      ] as const) {
        const res = await call(scoped, method, path, body)
        assert.equal(res.status, 403, `${method} ${path}: ${res.text}`)
        assert.equal(res.body.error.code, 'API_KEY_CAMPAIGN_SCOPE')
      }
    })

    it('bad input is a 400 naming the field; unknown campaigns are 404 naming them', async () => {
      const bad = async (body: unknown, field: RegExp) => {
        const res = await call(admin, 'POST', '/api/apikeys', body)
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.code, 'VALIDATION_FAILED')
        assert.match(JSON.stringify(res.body.error), field, res.text)
      }
      await bad({ role: 'admin' }, /name/)
      await bad({ name: '', role: 'admin' }, /name/)
      await bad({ name: 'x'.repeat(101), role: 'admin' }, /name/)
      await bad({ name: 'x', role: 'guest' }, /role/)
      await bad({ name: 'x', role: 'owner' }, /role/)
      await bad({ name: 'x', role: 'admin', campaigns: [] }, /campaigns/)
      await bad({ name: 'x', role: 'admin', campaigns: ['Not A Slug'] }, /campaigns/)
      await bad(
        { name: 'x', role: 'admin', campaigns: Array.from({ length: 51 }, (_, i) => `c${i}`) },
        /campaigns/,
      )
      await bad({ name: 'x', role: 'admin', expires_in_seconds: 0 }, /expires_in_seconds/)
      await bad({ name: 'x', role: 'admin', expires_at: 'tomorrow' }, /expires_at/)
      await bad(
        { name: 'x', role: 'admin', expires_at: new Date(Date.now() - 60_000).toISOString() },
        /expires_at/,
      )
      await bad(
        {
          name: 'x',
          role: 'admin',
          expires_in_seconds: 3600,
          expires_at: new Date(Date.now() + 7200_000).toISOString(),
        },
        /expires_at/,
      )
      await bad({ name: 'x', role: 'admin', key: 'ovs_chosen' }, /key/)
      const missing = uniqueSlug('gone')
      const unknown = await call(admin, 'POST', '/api/apikeys', {
        name: 'x',
        role: 'admin',
        campaigns: [slug, missing],
      })
      assert.equal(unknown.status, 404, unknown.text)
      assert.equal(unknown.body.error.code, 'CAMPAIGN_NOT_FOUND')
      assert.match(unknown.body.error.message, new RegExp(missing))
      assert.doesNotMatch(unknown.body.error.message, new RegExp(`${slug}\\b`))
      const keys = (await call(admin, 'GET', '/api/apikeys')).body.keys as Array<{ name: string }>
      assert.ok(!keys.some((k) => k.name === 'x'), 'nothing was made')
    })
  })
}
