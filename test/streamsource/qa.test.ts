import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import type { InjectOptions } from 'fastify'
import { buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { consumer, subscribe, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/** What integrators of the StreamSource API ran into, each kept fixed. */
for (const dialect of DIALECTS) {
  describe(`StreamSource integrator QA (${dialect})`, () => {
    let ctx: TestContext
    let editor: TestAccount
    let admin: TestAccount
    const consumers: Consumer[] = []
    const send = (who: TestAccount, method: InjectOptions['method'], url: string, payload?: unknown) =>
      ctx.app.inject({ method, url, headers: who.headers, payload: payload as InjectOptions['payload'] })
    const create = async (payload: Record<string, unknown>) => {
      const res = await send(editor, 'POST', '/api/v1/streams', payload)
      assert.equal(res.statusCode, 201, res.body)
      return json(res).stream
    }

    before(async () => {
      ctx = await buildTestApp({ dialect })
      editor = await account(ctx.app, 'editor')
      admin = await account(ctx.app, 'admin')
    })
    after(async () => {
      for (const c of consumers) c.disconnect()
      await ctx.close()
    })

    it('reads times strictly: no year 2001 for "1", no rolling 30 February into March, no server zone', async () => {
      const s = await create({ link: uniqueLink() })
      const patch = (last_checked_at: string) =>
        send(editor, 'PATCH', `/api/v1/streams/${s.id}`, { last_checked_at })
      for (const when of [
        '1',
        '12',
        'foo 1',
        'Jan 5',
        '2024-02-30',
        '2023-02-29T00:00:00Z',
        '2024-01-01T24:00:00Z',
      ]) {
        const res = await patch(when)
        assert.equal(res.statusCode, 422, `${when}: ${res.body}`)
        assert.deepEqual(json(res).details, { last_checked_at: ['is not a valid datetime'] })
      }
      for (const [when, stored] of [
        ['2024-02-29', '2024-02-29T00:00:00.000Z'],
        // No zone is UTC, whatever zone the server runs in; Ruby's Time#to_s and offsets are read.
        ['2024-01-01 10:00:00', '2024-01-01T10:00:00.000Z'],
        ['2024-01-01 10:00:00 UTC', '2024-01-01T10:00:00.000Z'],
        ['2024-01-01T10:00:00+0100', '2024-01-01T09:00:00.000Z'],
        ['2024-01-01T10:00:00.25-05:00', '2024-01-01T15:00:00.250Z'],
        ['Mon, 01 Jan 2024 10:00:00 GMT', '2024-01-01T10:00:00.000Z'],
      ] as const) {
        const res = await patch(when)
        assert.equal(res.statusCode, 200, `${when}: ${res.body}`)
        assert.equal(json(res).stream.last_checked_at, stored, when)
      }
    })

    it("a JSON import or batch item of the wrong type fails only itself, in the parser's words", async () => {
      const good = uniqueLink()
      const imp = await send(editor, 'POST', '/api/v1/streams/import', {
        streams: [{ link: uniqueLink(), title: 5 }, 'not an object', null, { link: good, title: 'Fine' }],
      })
      assert.equal(imp.statusCode, 200, imp.body)
      const body = json(imp)
      assert.deepEqual([body.created, body.failed], [1, 3])
      assert.deepEqual(
        body.results.map((r: any) => [r.index, r.status, r.details]),
        [
          [0, 'error', { title: ['must be a string'] }],
          [1, 'error', { stream: ['must be an object'] }],
          [2, 'error', { stream: ['must be an object'] }],
          [3, 'created', undefined],
        ],
      )
      const id = body.results[3].stream.id
      const batch = await send(editor, 'PATCH', '/api/v1/streams/batch', [
        { id: String(id), title: 'x' },
        { id, notes: ['a list'] },
        { id, title: 'Renamed' },
      ])
      assert.equal(batch.statusCode, 200, batch.body)
      assert.deepEqual(
        json(batch).results.map((r: any) => [r.status, r.details]),
        [
          ['error', { id: ['must be a positive integer'] }],
          ['error', { notes: ['must be a string'] }],
          ['updated', undefined],
        ],
      )
      assert.equal(json(await send(editor, 'GET', `/api/v1/streams/${id}`)).stream.title, 'Renamed')
    })

    it('says what is wrong with a nullable field once, as the parser would', async () => {
      const res = await send(editor, 'POST', '/api/v1/streams', { link: uniqueLink(), title: 123 })
      assert.equal(res.statusCode, 422)
      assert.deepEqual(json(res), {
        error: 'Title must be a string',
        details: { title: ['must be a string'] },
      })
      const long = await send(editor, 'POST', '/api/v1/streams', {
        link: uniqueLink(),
        notes: 'x'.repeat(10_001),
      })
      assert.deepEqual(json(long).details, { notes: ['is too long (maximum is 10000 characters)'] })
    })

    it('takes pin, archive, delete and logout sent with Content-Type: application/json and no body', async () => {
      const s = await create({ link: uniqueLink() })
      const bare = (method: InjectOptions['method'], url: string, who = editor) =>
        ctx.app.inject({ method, url, headers: { ...who.headers, 'content-type': 'application/json' } })
      const pinned = await bare('PUT', `/api/v1/streams/${s.id}/pin`)
      assert.equal(pinned.statusCode, 200, pinned.body)
      assert.equal(json(pinned).stream.is_pinned, true)
      assert.equal((await bare('POST', `/api/v1/streams/${s.id}/archive`)).statusCode, 200)
      assert.equal((await bare('DELETE', `/api/v1/streams/${s.id}`)).statusCode, 204)
      assert.equal((await send(editor, 'GET', `/api/v1/streams/${s.id}`)).statusCode, 404)
      // A body is still needed where one is: an empty create is a 422, not a crash.
      const empty = await bare('POST', '/api/v1/streams')
      assert.equal(empty.statusCode, 422, empty.body)
      assert.ok(json(empty).error)
      const who = await account(ctx.app, 'default')
      assert.equal((await bare('DELETE', '/api/v1/logout', who)).statusCode, 200)
      assert.equal((await send(who, 'GET', '/api/v1/streams')).statusCode, 401)
    })

    it('CSV import: spreadsheet headers ("Posted By") are read, blank rows are not failures', async () => {
      const link = uniqueLink()
      const csv = ['Link,Posted By,Last Checked', ',,', `${link},Some One,2024-01-01 10:00:00`, ' , , '].join(
        '\r\n',
      )
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams/import',
        headers: { ...editor.headers, 'content-type': 'text/csv' },
        payload: csv,
      })
      assert.equal(res.statusCode, 200, res.body)
      const body = json(res)
      assert.deepEqual([body.created, body.failed], [1, 0], res.body)
      assert.equal(body.results[0].stream.posted_by, 'Some One')
      assert.equal(body.results[0].stream.last_checked_at, '2024-01-01T10:00:00.000Z')
    })

    it('an admin changes a role with the Rails form ({user: {role}}); a field not allowed is named', async () => {
      const who = await account(ctx.app, 'default')
      const nested = await send(admin, 'PATCH', `/api/v1/users/${who.id}`, { user: { role: 'editor' } })
      assert.equal(nested.statusCode, 200, nested.body)
      assert.equal(json(nested).user.role, 'editor')
      const flat = await send(admin, 'PATCH', `/api/v1/users/${who.id}`, { role: 'default' })
      assert.equal(json(flat).user.role, 'default')
      const extra = await send(admin, 'PATCH', `/api/v1/users/${who.id}`, { role: 'editor', email: 'x@y.z' })
      assert.equal(extra.statusCode, 422)
      assert.deepEqual(json(extra), {
        error: 'Email is not a permitted field',
        details: { email: ['is not a permitted field'] },
      })
      const bad = await send(admin, 'PATCH', `/api/v1/users/${who.id}`, { user: { role: 'owner' } })
      assert.equal(bad.statusCode, 422)
      assert.deepEqual(json(bad).details, { role: ['is not included in the list (default, editor, admin)'] })
      assert.equal(json(await send(admin, 'GET', `/api/v1/users/${who.id}`)).user.role, 'default')
    })

    it('a collaborator who joins is told who is online (the joiner too)', async () => {
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = ctx.app.server.address() as { port: number }
      const base = `http://127.0.0.1:${port}`
      const ca = consumer(base, admin.token)
      consumers.push(ca)
      const a = await subscribe(ca, 'CollaborativeStreamsChannel')
      await until(
        () =>
          a.received.some(
            (m) =>
              m.action === 'active_users_list' && m.users.some((u: any) => u.user_id === String(admin.id)),
          ),
        'the joiner sees itself in the list',
      )
    })
  })
}
