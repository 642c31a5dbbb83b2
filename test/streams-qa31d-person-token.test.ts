// The StreamSource registry (`/api/v1`) and `/cable` take a console person's token (an editor or
// admin signed in by email and password) with the same role rules as an API key of that role, over
// real HTTP and a real socket: an editor creates and changes their own streams as an editor's key
// does, the stream records the person who made it, a participant is refused as a missing key is, a
// logged-out or demoted person's token is refused, and the key path answers as it did.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { WebSocket } from 'ws'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  json,
  listenLocally,
  type TestContext,
} from './helper.js'

const PASSWORD = 'correct horse battery staple'
const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

for (const dialect of DIALECTS) {
  describe(`/api/v1 and /cable with a console person's token (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let slug: string
    let people = 0

    before(async () => {
      ctx = await buildTestApp({ dialect })
      base = await listenLocally(ctx.app)
      slug = await createCampaign(ctx.app)
    })
    after(async () => ctx.close())

    /** A person who joined with a password, given `role` by the admin key, signed in to the console. */
    async function person(role: 'participant' | 'editor' | 'admin') {
      const email = `qa31d.${role}.${++people}.${randomBytes(3).toString('hex')}@example.org`
      const joined = await ctx.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { 'x-forwarded-for': `10.31.${people}.1` },
        payload: { campaign: slug, name: 'Console Person', email, password: PASSWORD },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      const id = json(joined).user.id as string
      if (role !== 'participant') await setRole(id, role)
      // The console's sign-in: email and password, no campaign.
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.31.${people}.2` },
        body: JSON.stringify({ email, password: PASSWORD }),
      })
      assert.equal(login.status, 200, await login.clone().text())
      const token = ((await login.json()) as { token: string }).token
      return { id, token, auth: { authorization: `Bearer ${token}` } }
    }

    async function setRole(id: string, role: string) {
      const res = await ctx.app.inject({
        method: 'PUT',
        url: `/api/user/${id}/role`,
        headers: adminHeaders,
        payload: { role },
      })
      assert.equal(res.statusCode, 200, res.body)
    }

    /** One real HTTP call: status, JSON body (or null) and the rate-limit header. */
    async function call(
      method: string,
      path: string,
      headers: Record<string, string> = {},
      body?: unknown,
    ): Promise<{ status: number; body: any; limit: string | null }> {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return {
        status: res.status,
        body: text ? JSON.parse(text) : null,
        limit: res.headers.get('x-ratelimit-limit'),
      }
    }

    const link = () => `https://www.twitch.tv/qa31d_${randomBytes(5).toString('hex')}`

    async function ownerOf(id: number) {
      const { rows } = await sql<{
        user_id: string | null
        apikey_id: string | null
        person_id: string | null
      }>`
        select user_id, apikey_id, person_id from service_stream_main where id = ${id}`.execute(
        ctx.app.platform.database.db,
      )
      return rows[0]
    }

    it('an editor creates, updates, pins and lists as an editor key does, and owns what they made', async () => {
      const editor = await person('editor')
      const keyHeaders = {
        authorization: `Bearer ${(await ctx.app.platform.apiKeys.create({ name: 'qa31d', role: 'editor' })).key}`,
      }

      const created = await call('POST', '/streams', editor.auth, { link: link(), title: 'By a person' })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      const stream = created.body.stream
      // The wire shape is StreamSource's: a person is no registry account, as a key is none.
      assert.equal(stream.user_id, null)
      assert.equal(stream.user, null)
      assert.equal(Object.hasOwn(stream, 'person_id'), false, 'the person id stays internal')
      assert.deepEqual(await ownerOf(stream.id), { user_id: null, apikey_id: null, person_id: editor.id })

      const patched = await call('PATCH', `/streams/${stream.id}`, editor.auth, { status: 'live' })
      assert.equal(patched.status, 200, JSON.stringify(patched.body))
      assert.equal(patched.body.stream.status, 'live')
      assert.equal((await call('PUT', `/streams/${stream.id}/pin`, editor.auth)).status, 200)
      const listed = await call('GET', '/streams?per_page=100', editor.auth)
      assert.equal(listed.status, 200)
      assert.ok(
        listed.body.streams.some(
          (s: { id: number; is_pinned: boolean }) => s.id === stream.id && s.is_pinned,
        ),
      )
      // A signed-in browser's tier, as a registry account's; a key keeps the service tier.
      assert.equal(listed.limit, String(ctx.config.STREAMSOURCE_RATE_LIMIT_AUTHENTICATED))

      // The editor key's own stream: the key changes it, the person may not; nor may the key
      // change the person's. Another editor person may not either; an admin person may.
      const byKey = await call('POST', '/streams', keyHeaders, { link: link() })
      assert.equal(byKey.status, 201)
      assert.equal(byKey.limit, String(ctx.config.STREAMSOURCE_RATE_LIMIT_SERVICE))
      assert.equal((await ownerOf(byKey.body.stream.id))!.person_id, null)
      assert.equal(
        (await call('PATCH', `/streams/${byKey.body.stream.id}`, keyHeaders, { title: 'k' })).status,
        200,
      )
      const refused = await call('PATCH', `/streams/${byKey.body.stream.id}`, editor.auth, { title: 'x' })
      assert.deepEqual(refused, {
        status: 403,
        body: { error: 'You are not authorized to perform this action' },
        limit: refused.limit,
      })
      assert.equal((await call('PATCH', `/streams/${stream.id}`, keyHeaders, { title: 'x' })).status, 403)
      const other = await person('editor')
      assert.equal((await call('PATCH', `/streams/${stream.id}`, other.auth, { title: 'x' })).status, 403)
      assert.equal((await call('DELETE', `/streams/${stream.id}`, other.auth)).status, 403)
      const admin = await person('admin')
      const byAdmin = await call('PATCH', `/streams/${stream.id}`, admin.auth, { title: 'By an admin' })
      assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body))
      assert.equal(byAdmin.body.stream.title, 'By an admin')
      // Deleting their own stream is the editor's too.
      assert.equal((await call('DELETE', `/streams/${stream.id}`, editor.auth)).status, 204)
      assert.equal((await call('GET', `/streams/${stream.id}`, editor.auth)).status, 404)
    })

    it('the maintenance switch records the admin person who turned it, and an editor person is not an admin', async () => {
      const admin = await person('admin')
      const editor = await person('editor')
      assert.equal((await call('PUT', '/admin/maintenance', editor.auth, { enabled: true })).status, 403)
      const on = await call('PUT', '/admin/maintenance', admin.auth, { enabled: false })
      assert.equal(on.status, 200, JSON.stringify(on.body))
      const { rows } = await sql<{ value: string }>`
        select value from service_stream_setting where key = 'maintenance'`.execute(
        ctx.app.platform.database.db,
      )
      assert.equal(rows.length, 1)
      const value = typeof rows[0]!.value === 'string' ? JSON.parse(rows[0]!.value) : rows[0]!.value
      assert.deepEqual(value, { enabled: false, by: `person:${admin.id}` })
    })

    it('a participant or a guest is refused exactly as a request with no key', async () => {
      const visitor = await person('participant')
      const guest = (await (await fetch(`${base}/api/session`, { method: 'POST' })).json()) as {
        token: string
      }
      for (const [method, path, body] of [
        ['GET', '/streams', undefined],
        ['POST', '/streams', { link: link() }],
      ] as const) {
        const none = await call(method, path, {}, body)
        assert.deepEqual(none.body, { error: 'Unauthorized' })
        for (const auth of [visitor.auth, { authorization: `Bearer ${guest.token}` }]) {
          const res = await call(method, path, auth, body)
          assert.deepEqual(
            { status: res.status, body: res.body, limit: res.limit },
            { status: none.status, body: none.body, limit: none.limit },
            `${method} ${path}`,
          )
        }
      }
    })

    it('a logged-out or demoted person is refused, and the key path is unchanged', async () => {
      const leaving = await person('editor')
      assert.equal((await call('GET', '/streams', leaving.auth)).status, 200)
      const out = await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: leaving.auth })
      assert.equal(out.status, 200, await out.text())
      const afterLogout = await call('GET', '/streams', leaving.auth)
      assert.deepEqual([afterLogout.status, afterLogout.body], [401, { error: 'Unauthorized' }])

      const demoted = await person('editor')
      assert.equal((await call('POST', '/streams', demoted.auth, { link: link() })).status, 201)
      await setRole(demoted.id, 'participant')
      assert.equal((await call('POST', '/streams', demoted.auth, { link: link() })).status, 401)

      // Keys as before: an editor key writes, a participant key reads only, the admin key anything.
      const keys = ctx.app.platform.apiKeys
      const editorKey = { 'x-api-key': (await keys.create({ name: 'qa31d-e', role: 'editor' })).key }
      const readerKey = { 'x-api-key': (await keys.create({ name: 'qa31d-p', role: 'participant' })).key }
      assert.equal((await call('POST', '/streams', editorKey, { link: link() })).status, 201)
      assert.equal((await call('GET', '/streams', readerKey)).status, 200)
      assert.equal((await call('POST', '/streams', readerKey, { link: link() })).status, 403)
      assert.equal((await call('POST', '/streams', adminHeaders, { link: link() })).status, 201)
      assert.deepEqual((await call('GET', '/streams', { 'x-api-key': 'ovs_not_a_key' })).body, {
        error: 'Unauthorized',
      })
    })

    it("/cable takes an editor person's token, refuses a participant's, and closes at the person's logout", async () => {
      const open = (token: string) => {
        const frames: any[] = []
        const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/cable?token=${encodeURIComponent(token)}`, [
          'actioncable-v1-json',
        ])
        const state = { closed: false }
        ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
        ws.on('close', () => {
          state.closed = true
        })
        ws.on('error', () => {})
        return { ws, frames, state }
      }
      const visitor = await person('participant')
      const refused = open(visitor.token)
      await until(() => refused.state.closed, 'the participant refused')
      assert.deepEqual(
        refused.frames.filter((f) => f.type === 'disconnect'),
        [{ type: 'disconnect', reason: 'unauthorized', reconnect: false }],
      )

      const editor = await person('editor')
      const wall = open(editor.token)
      await until(() => wall.frames.some((f) => f.type === 'welcome'), 'welcome')
      wall.ws.send(
        JSON.stringify({ command: 'subscribe', identifier: JSON.stringify({ channel: 'StreamsChannel' }) }),
      )
      await until(() => wall.frames.some((f) => f.type === 'confirm_subscription'), 'the subscription')
      // The person's logout (announced on the bus) closes their socket, without waiting for a re-check pass.
      const out = await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: editor.auth })
      assert.equal(out.status, 200)
      await until(() => wall.state.closed, 'the logged-out socket closed')
      assert.ok(wall.frames.some((f) => f.type === 'disconnect' && f.reason === 'unauthorized'))
    })
  })
}
