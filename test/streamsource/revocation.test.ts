import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import type { InjectOptions } from 'fastify'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { consumer, subscribe, until } from './cable-client.js'
import { account, PASSWORD, type TestAccount, uniqueLink } from './helpers.js'

const NEW_PASSWORD = 'Chang3dPassword'

for (const dialect of DIALECTS) {
  describe(`cutting an account's tokens off (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let admin: TestAccount
    const consumers: Consumer[] = []
    const inject = (opts: InjectOptions) => ctx.app.inject(opts)
    const streamsAs = (token: string) =>
      inject({ url: '/api/v1/streams', headers: { authorization: `Bearer ${token}` } })
    const login = async (email: string, password = PASSWORD) =>
      inject({ method: 'POST', url: '/api/v1/users/login', payload: { email, password } })

    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
      admin = await account(ctx.app, 'admin')
    })
    after(async () => {
      for (const c of consumers) c.disconnect()
      await ctx.close()
    })

    it('an admin cuts off a token issued before: 401 on REST, its /cable socket closed; a new login works', async () => {
      const leaked = await account(ctx.app, 'editor')
      assert.equal((await streamsAs(leaked.token)).statusCode, 200)
      const c = consumer(base, leaked.token)
      consumers.push(c)
      const sub = await subscribe(c, 'StreamsChannel')

      // Only admins may cut tokens off.
      const byEditor = await inject({
        method: 'POST',
        url: `/api/v1/users/${leaked.id}/revoke_tokens`,
        headers: leaked.headers,
      })
      assert.equal(byEditor.statusCode, 403)
      const missing = await inject({
        method: 'POST',
        url: '/api/v1/users/99999999/revoke_tokens',
        headers: admin.headers,
      })
      assert.equal(missing.statusCode, 404)
      assert.deepEqual(json(missing), { error: 'Record not found' })

      const res = await inject({
        method: 'POST',
        url: `/api/v1/users/${leaked.id}/revoke_tokens`,
        headers: admin.headers,
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).user.id, leaked.id)
      assert.ok(!Number.isNaN(Date.parse(json(res).tokens_valid_after)))

      const refused = await streamsAs(leaked.token)
      assert.equal(refused.statusCode, 401)
      assert.deepEqual(json(refused), { error: 'Unauthorized' })
      // A socket that only listens sends no command that would have re-checked it.
      await until(() => sub.disconnected, 'the revoked socket closed')

      // Logging in again, even within the same second, gives a token that works, on REST and /cable.
      const again = await login(leaked.email)
      assert.equal(again.statusCode, 200)
      const fresh: string = json(again).token
      assert.equal((await streamsAs(fresh)).statusCode, 200)
      const c2 = consumer(base, fresh)
      consumers.push(c2)
      const sub2 = await subscribe(c2, 'StreamsChannel')
      const link = uniqueLink()
      await inject({ method: 'POST', url: '/api/v1/streams', headers: adminHeaders, payload: { link } })
      await until(() => sub2.received.some((m) => m.stream?.link === link), 'a broadcast on the new login')
      assert.equal(sub2.disconnected, false)
      // Another account's tokens are untouched.
      assert.equal((await streamsAs(admin.token)).statusCode, 200)
    })

    it('a token issued after a cut-off in the same second works; one issued before it does not', async (t) => {
      const user = await account(ctx.app, 'default')
      // The clock stands half a second into a second: `iat` (whole seconds) of a token issued
      // now reads as before the cut-off made now, so the cut-off needs the millisecond.
      t.mock.timers.enable({ apis: ['Date'], now: Math.floor(Date.now() / 1000) * 1000 + 500 })
      const before = json(await login(user.email)).token as string
      t.mock.timers.tick(1)
      const res = await inject({
        method: 'POST',
        url: `/api/v1/users/${user.id}/revoke_tokens`,
        headers: admin.headers,
      })
      assert.equal(res.statusCode, 200)
      t.mock.timers.tick(1)
      const after = json(await login(user.email)).token as string
      assert.equal((await streamsAs(after)).statusCode, 200, 'issued a millisecond after the cut-off')
      assert.equal((await streamsAs(before)).statusCode, 401, 'issued a millisecond before it')
    })

    it('a password change cuts off the older tokens and answers a working one', async () => {
      const user = await account(ctx.app, 'default')
      const other = json(await login(user.email)).token as string
      const c = consumer(base, other)
      consumers.push(c)
      const sub = await subscribe(c, 'StreamsChannel')

      const wrong = await inject({
        method: 'PUT',
        url: '/api/v1/users/password',
        headers: user.headers,
        payload: { user: { current_password: 'Not1ThePassword', password: NEW_PASSWORD } },
      })
      assert.equal(wrong.statusCode, 422)
      assert.deepEqual(json(wrong).details, { current_password: ['is invalid'] })
      const weak = await inject({
        method: 'PUT',
        url: '/api/v1/users/password',
        headers: user.headers,
        payload: { user: { current_password: PASSWORD, password: 'short' } },
      })
      assert.equal(weak.statusCode, 422)
      assert.ok(json(weak).details.password)
      assert.equal((await streamsAs(user.token)).statusCode, 200, 'a refused change cuts nothing off')
      const byKey = await inject({
        method: 'PUT',
        url: '/api/v1/users/password',
        headers: adminHeaders,
        payload: { user: { current_password: 'x', password: NEW_PASSWORD } },
      })
      assert.equal(byKey.statusCode, 403, 'an API key has no password')

      const res = await inject({
        method: 'PUT',
        url: '/api/v1/users/password',
        headers: user.headers,
        payload: {
          user: { current_password: PASSWORD, password: NEW_PASSWORD, password_confirmation: NEW_PASSWORD },
        },
      })
      assert.equal(res.statusCode, 200, res.body)
      const token: string = json(res).token
      assert.equal(res.headers.authorization, `Bearer ${token}`)
      for (const old of [user.token, other]) assert.equal((await streamsAs(old)).statusCode, 401)
      assert.equal((await streamsAs(token)).statusCode, 200)
      await until(() => sub.disconnected, 'the socket of an older token closed')

      assert.equal((await login(user.email)).statusCode, 401, 'the old password')
      const again = await login(user.email, NEW_PASSWORD)
      assert.equal(again.statusCode, 200)
      assert.equal((await streamsAs(json(again).token)).statusCode, 200)
    })

    it('log out everywhere ends every token of the account; plain logout still ends only its own', async () => {
      const user = await account(ctx.app, 'default')
      const second = json(await login(user.email)).token as string
      const third = json(await login(user.email)).token as string
      const out = await inject({
        method: 'DELETE',
        url: '/api/v1/logout',
        headers: { authorization: `Bearer ${third}` },
      })
      assert.equal(out.statusCode, 200)
      assert.equal((await streamsAs(third)).statusCode, 401)
      assert.equal((await streamsAs(second)).statusCode, 200, 'logout ends only the token it is called with')

      const all = await inject({ method: 'DELETE', url: '/api/v1/logout/all', headers: user.headers })
      assert.equal(all.statusCode, 200, all.body)
      for (const old of [user.token, second]) assert.equal((await streamsAs(old)).statusCode, 401)
      const again = await login(user.email)
      assert.equal((await streamsAs(json(again).token)).statusCode, 200)
      assert.equal(
        (await inject({ method: 'DELETE', url: '/api/v1/logout/all', headers: adminHeaders })).statusCode,
        403,
        'an API key is no account',
      )
    })
  })
}
