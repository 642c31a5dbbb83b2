import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { InjectOptions } from 'fastify'
import { decodeJwt } from 'jose'
import { adminHeaders, buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { account, PASSWORD, type TestAccount, uniqueLink } from './helpers.js'

for (const dialect of DIALECTS) {
  describe(`StreamSource /api/v1 (${dialect})`, () => {
    let ctx: TestContext
    let editor: TestAccount
    let editor2: TestAccount
    let viewer: TestAccount
    let admin: TestAccount
    const inject = (o: InjectOptions) => ctx.app.inject(o)
    /** `method` `url` (with `payload`) as `who`. */
    const send = (who: TestAccount, method: InjectOptions['method'], url: string, payload?: object) =>
      inject({ method, url, headers: who.headers, payload })
    const create = async (who: TestAccount, payload: Record<string, unknown>) => {
      const res = await send(who, 'POST', '/api/v1/streams', payload)
      assert.ok([200, 201].includes(res.statusCode), res.body)
      return json(res).stream
    }

    before(async () => {
      ctx = await buildTestApp({ dialect })
      editor = await account(ctx.app, 'editor')
      editor2 = await account(ctx.app, 'editor')
      viewer = await account(ctx.app, 'default')
      admin = await account(ctx.app, 'admin')
    })
    after(async () => ctx.close())

    describe('accounts', () => {
      it('signs up and logs in with the nested and the flat forms', async () => {
        const email = `Nested_${Date.now()}@Example.com`
        const signup = await inject({
          method: 'POST',
          url: '/api/v1/signup',
          payload: { user: { email, password: PASSWORD, password_confirmation: PASSWORD } },
        })
        assert.equal(signup.statusCode, 201)
        assert.equal(json(signup).user.email, email.toLowerCase())
        assert.equal(json(signup).user.role, 'default')
        const login = await inject({
          method: 'POST',
          url: '/api/v1/login',
          payload: { user: { email, password: PASSWORD } },
        })
        assert.equal(login.statusCode, 200)
        const body = json(login)
        assert.deepEqual(body.status, { code: 200, message: 'Logged in successfully.' })
        assert.deepEqual(Object.keys(body.user).sort(), [
          'created_at',
          'email',
          'id',
          'is_service_account',
          'role',
          'updated_at',
        ])
        assert.ok(!login.body.includes('password'))
        const claims = decodeJwt(body.token)
        assert.equal(claims.exp! - claims.iat!, 86_400, 'one-day token')

        const flatEmail = `flat_${Date.now()}@example.com`
        const flat = await inject({
          method: 'POST',
          url: '/api/v1/users/signup',
          payload: { email: flatEmail, password: PASSWORD },
        })
        assert.equal(flat.statusCode, 201)
        assert.ok(json(flat).token)
        const flatLogin = await inject({
          method: 'POST',
          url: '/api/v1/users/login',
          payload: { email: flatEmail, password: PASSWORD },
        })
        assert.deepEqual(Object.keys(json(flatLogin)).sort(), ['token', 'user'])
      })

      it('counts password guesses per email from one network, whatever address in it or token they come with', async () => {
        const target = await account(ctx.app, 'editor')
        const helper = await account(ctx.app, 'default')
        const statuses: number[] = []
        for (let i = 0; i < 11; i++) {
          const res = await inject({
            method: 'POST',
            url: i % 2 ? '/api/v1/login' : '/api/v1/users/login',
            headers: { 'x-forwarded-for': `2001:db8:77:1::${i + 1}`, ...helper.headers },
            payload:
              i % 2
                ? { user: { email: target.email, password: `Wrong${i}abcd` } }
                : { email: target.email, password: `Wrong${i}abcd` },
          })
          statuses.push(res.statusCode)
        }
        // Ten guesses per email from one network (an IPv6 /64) per 15 minutes; the lockout is that
        // network's alone (qa28-login-lockout.test.ts), so the owner still logs in from theirs.
        const first = statuses.indexOf(429)
        assert.ok(first >= 9, statuses.join(' '))
        assert.ok(
          statuses.slice(first).every((s) => s === 429),
          statuses.join(' '),
        )
      })

      it('refuses bad credentials, weak passwords and taken emails in StreamSource shape', async () => {
        const wrong = await inject({
          method: 'POST',
          url: '/api/v1/login',
          payload: { user: { email: editor.email, password: 'Wrong1234' } },
        })
        assert.equal(wrong.statusCode, 401)
        assert.deepEqual(json(wrong), { error: 'Invalid email or password' })
        const unknown = await inject({
          method: 'POST',
          url: '/api/v1/users/login',
          payload: { email: 'nobody@example.com', password: PASSWORD },
        })
        assert.deepEqual(json(unknown), { error: 'Invalid email or password' })
        for (const password of ['short1A', 'alllowercase1', 'ALLUPPER1', 'NoDigitsHere']) {
          const res = await inject({
            method: 'POST',
            url: '/api/v1/signup',
            payload: { user: { email: `w_${Date.now()}@example.com`, password } },
          })
          assert.equal(res.statusCode, 422, password)
          assert.match(json(res).error, /^Password /)
          assert.ok(json(res).details.password)
        }
        const taken = await inject({
          method: 'POST',
          url: '/api/v1/users/signup',
          payload: { email: editor.email, password: PASSWORD },
        })
        assert.equal(taken.statusCode, 422)
        assert.equal(json(taken).error, 'Email has already been taken')
        const missing = await inject({
          method: 'POST',
          url: '/api/v1/login',
          payload: { user: { email: 'a@b.co' } },
        })
        assert.equal(missing.statusCode, 422)
        assert.deepEqual(json(missing).details, { password: ["can't be blank"] })
      })

      it('refuses an email holding control characters (it would reach the admin terminal)', async () => {
        for (const email of ['x\u001b[31m@evil.example', 'bell\u0007@evil.example', 'a@b\u009b.example']) {
          const res = await inject({
            method: 'POST',
            url: '/api/v1/signup',
            headers: { 'x-forwarded-for': '10.66.0.1' },
            payload: { user: { email, password: PASSWORD, password_confirmation: PASSWORD } },
          })
          assert.equal(res.statusCode, 422, res.body)
          assert.deepEqual(json(res).details, { email: ['is invalid'] })
        }
      })

      it('counts sign-ups and login guesses per IPv6 /64, whichever of its addresses each comes from', async () => {
        /**
         * Windows are aligned to the clock (`windowMs` multiples), so a run straddling an end is
         * counted in two: start with a few seconds of the window left, waiting for the next if not.
         */
        const awayFromWindowEnd = async (windowMs: number) => {
          const left = windowMs - (Date.now() % windowMs)
          if (left < 20_000) await new Promise((r) => setTimeout(r, left + 50))
        }
        const signup = (ip: string) =>
          inject({
            method: 'POST',
            url: '/api/v1/signup',
            headers: { 'x-forwarded-for': ip },
            // A weak password: refused (422) after it was counted, without hashing anything.
            payload: { user: { email: `net_${Date.now()}@example.com`, password: 'weak' } },
          }).then((r) => r.statusCode)
        await awayFromWindowEnd(60 * 60_000)
        const signups: number[] = []
        for (let i = 1; i <= 11; i++) signups.push(await signup(`2001:db8:5:1::${i.toString(16)}`))
        assert.deepEqual(signups, [...Array(10).fill(422), 429])
        assert.equal(await signup('2001:db8:5:2::1'), 422, 'another /64 is not refused')

        // 31 requests: within the anonymous tier (60 a minute), so only the login limit can refuse.
        const login = (ip: string, i: number) =>
          inject({
            method: 'POST',
            url: '/api/v1/users/login',
            headers: { 'x-forwarded-for': ip },
            payload: { email: `nobody_${i}@example.com`, password: 'Wrong1234' },
          }).then((r) => r.statusCode)
        await awayFromWindowEnd(15 * 60_000)
        const logins: number[] = []
        for (let i = 1; i <= 31; i++) logins.push(await login(`2001:db8:5:3:${i.toString(16)}::1`, i))
        assert.deepEqual(logins, [...Array(30).fill(401), 429])
        assert.equal(await login('2001:db8:5:4::1', 0), 401, 'another /64 is not refused')
      })

      it('counts sign-ups per address: one address cannot probe emails (or farm accounts) at the request rate', async () => {
        const statuses: number[] = []
        for (let i = 0; i < 11; i++) {
          // Taken emails and new ones alike: each answer tells whether the email has an account.
          const email = i % 2 ? editor.email : `probe_${i}_${Date.now()}@example.com`
          const res = await inject({
            method: 'POST',
            url: i % 3 ? '/api/v1/signup' : '/api/v1/users/signup',
            headers: { 'x-forwarded-for': '10.55.0.1' },
            payload:
              i % 3
                ? { user: { email, password: PASSWORD, password_confirmation: PASSWORD } }
                : { email, password: PASSWORD },
          })
          statuses.push(res.statusCode)
        }
        assert.deepEqual(statuses.slice(0, 10).sort(), [...Array(5).fill(201), ...Array(5).fill(422)].sort())
        assert.equal(statuses[10], 429, statuses.join(' '))
        const other = await inject({
          method: 'POST',
          url: '/api/v1/signup',
          headers: { 'x-forwarded-for': '10.55.0.2' },
          payload: { user: { email: `other_${Date.now()}@example.com`, password: PASSWORD } },
        })
        assert.equal(other.statusCode, 201, 'another address still signs up')
      })

      it('logout revokes the token for good', async () => {
        const temp = await account(ctx.app, 'editor')
        assert.equal((await send(temp, 'GET', '/api/v1/streams')).statusCode, 200)
        const out = await send(temp, 'DELETE', '/api/v1/logout')
        assert.equal(out.statusCode, 200)
        const after = await send(temp, 'GET', '/api/v1/streams')
        assert.equal(after.statusCode, 401)
        assert.deepEqual(json(after), { error: 'Unauthorized' })
        assert.equal((await inject({ method: 'DELETE', url: '/api/v1/logout' })).statusCode, 401)
      })

      it('admins (and the admin API key) manage users; others are refused', async () => {
        const asViewer = await send(viewer, 'GET', '/api/v1/users')
        assert.equal(asViewer.statusCode, 403)
        assert.deepEqual(json(asViewer), { error: 'You are not authorized to perform this action' })
        assert.equal((await send(editor, 'GET', '/api/v1/users')).statusCode, 403)
        const list = await send(admin, 'GET', '/api/v1/users?per_page=2')
        assert.equal(list.statusCode, 200)
        assert.equal(json(list).users.length, 2)
        assert.ok(json(list).meta.total_count >= 4)
        const bearer = await inject({
          url: `/api/v1/users/${viewer.id}`,
          headers: { authorization: `Bearer ${adminHeaders['x-api-key']}` },
        })
        assert.equal(json(bearer).user.role, 'default')
        const svc = await account(ctx.app, 'editor', { service: true })
        const claims = decodeJwt(svc.token)
        assert.equal(claims.exp! - claims.iat!, 30 * 86_400, 'service accounts get 30-day tokens')
        const bad = await send(admin, 'PATCH', `/api/v1/users/${viewer.id}`, { role: 'root' })
        assert.equal(bad.statusCode, 422)
        assert.equal((await send(admin, 'GET', '/api/v1/users/99999')).statusCode, 404)
        for (const id of ['abc', '1.5', '99999999999999999999'])
          assert.equal((await send(admin, 'GET', `/api/v1/users/${id}`)).statusCode, 404, id)
        // An API key is what its role says: a participant key reads, it does not edit.
        const { key } = await ctx.app.platform.apiKeys.create({ name: 'widget', role: 'participant' })
        const byKey = await inject({
          method: 'POST',
          url: '/api/v1/streams',
          headers: { authorization: `Bearer ${key}` },
          payload: { link: uniqueLink() },
        })
        assert.equal(byKey.statusCode, 403, byKey.body)
        assert.equal(
          (await inject({ url: '/api/v1/streams', headers: { authorization: `Bearer ${key}` } })).statusCode,
          200,
        )
        // Role changes apply to tokens already issued.
        const promoted = await account(ctx.app, 'default')
        assert.equal((await create(editor, { link: uniqueLink() })).user.id, editor.id)
        const before = await send(promoted, 'POST', '/api/v1/streams', { link: uniqueLink() })
        assert.equal(before.statusCode, 403)
        await send(admin, 'PATCH', `/api/v1/users/${promoted.id}`, { role: 'editor' })
        const now = await send(promoted, 'POST', '/api/v1/streams', { link: uniqueLink() })
        assert.equal(now.statusCode, 201)
      })
    })

    describe('streams', () => {
      it('creates with platform detection, validation naming fields, and duplicate detection', async () => {
        const link = uniqueLink('www.tiktok.com')
        const res = await inject({
          method: 'POST',
          url: '/api/v1/streams',
          headers: editor.headers,
          payload: {
            stream: {
              link,
              title: 'T',
              city: 'Seattle',
              state: 'WA',
              status: 'live',
              orientation: 'vertical',
            },
          },
        })
        assert.equal(res.statusCode, 201)
        const s = json(res).stream
        assert.equal(s.platform, 'tiktok')
        assert.equal(s.status, 'live')
        assert.ok(s.last_checked_at && s.last_live_at)
        assert.equal(s.user.email, editor.email)
        assert.equal(json(res).id, s.id, 'top-level fields for older clients')

        const variant = link.replace('https://www.', 'http://') + '/?utm_source=discord'
        const dup = await send(editor2, 'POST', '/api/v1/streams', { url: variant })
        assert.equal(dup.statusCode, 200)
        assert.equal(json(dup).stream.id, s.id)

        const bad = await send(editor, 'POST', '/api/v1/streams', {
          link: 'not a url',
          status: 'sideways',
          kind: 'hologram',
        })
        assert.equal(bad.statusCode, 422)
        const b = json(bad)
        assert.match(b.error, /Link must be a valid HTTP or HTTPS URL/)
        assert.deepEqual(Object.keys(b.details).sort(), ['kind', 'link', 'status'])
        const typed = await send(editor, 'POST', '/api/v1/streams', { link: 5 })
        assert.equal(typed.statusCode, 422)
        assert.ok(json(typed).details.link)
        const given = await create(editor, {
          link: uniqueLink('example.com'),
          platform: 'Kick',
          status: 'checking',
        })
        assert.equal(given.platform, 'kick')
        assert.equal(given.status, 'unknown')
      })

      it('enforces roles and ownership with StreamSource errors', async () => {
        const noToken = await inject({
          method: 'POST',
          url: '/api/v1/streams',
          payload: { link: uniqueLink() },
        })
        assert.equal(noToken.statusCode, 401)
        assert.deepEqual(json(noToken), { error: 'Unauthorized' })
        const badToken = await inject({ url: '/api/v1/streams', headers: { authorization: 'Bearer x.y.z' } })
        assert.deepEqual(json(badToken), { error: 'Unauthorized' })
        // A person's token counts only with a console role (QA 31d): a participant's is refused as
        // no token is, an admin's is an admin's (test/streams-qa31d-person-token.test.ts).
        const campaignToken = (
          await ctx.app.platform.tokens.issueUser({ userId: 'u1', roles: ['participant'] })
        ).token
        const crossed = await inject({
          url: '/api/v1/streams',
          headers: { authorization: `Bearer ${campaignToken}` },
        })
        assert.equal(crossed.statusCode, 401, 'a participant token is no registry token')
        assert.deepEqual(json(crossed), { error: 'Unauthorized' })
        const consoleToken = (await ctx.app.platform.tokens.issueUser({ userId: 'u1', roles: ['admin'] }))
          .token
        const admitted = await inject({
          url: '/api/v1/streams',
          headers: { authorization: `Bearer ${consoleToken}` },
        })
        assert.equal(admitted.statusCode, 200, 'an admin person reads as an admin key does')
        const asViewer = await send(viewer, 'POST', '/api/v1/streams', { link: uniqueLink() })
        assert.equal(asViewer.statusCode, 403)
        assert.deepEqual(json(asViewer), { error: 'You are not authorized to perform this action' })

        const s = await create(editor, { link: uniqueLink() })
        for (const [method, url, payload] of [
          ['PATCH', `/api/v1/streams/${s.id}`, { title: 'x' }],
          ['PUT', `/api/v1/streams/${s.id}`, { title: 'x' }],
          ['DELETE', `/api/v1/streams/${s.id}`, undefined],
          ['PUT', `/api/v1/streams/${s.id}/pin`, undefined],
          ['POST', `/api/v1/streams/${s.id}/archive`, undefined],
        ] as const) {
          const res = await inject({ method, url, headers: editor2.headers, payload })
          assert.equal(res.statusCode, 403, `${method} ${url}`)
        }
        const byAdmin = await send(admin, 'PATCH', `/api/v1/streams/${s.id}`, { title: 'Admin' })
        assert.equal(json(byAdmin).stream.title, 'Admin')
        const missing = await send(editor, 'GET', '/api/v1/streams/999999')
        assert.equal(missing.statusCode, 404)
        assert.deepEqual(json(missing), { error: 'Record not found' })
        assert.equal((await send(editor, 'GET', '/api/v1/streams/abc')).statusCode, 404)
        // Our own API keeps our error model.
        const ours = await inject({ url: '/api/campaign/none', headers: adminHeaders })
        assert.equal(json(ours).status, 'error')
      })

      it('updates with status semantics, pins, archives and deletes', async () => {
        const s = await create(editor, { link: uniqueLink() })
        assert.equal(s.last_checked_at, null)
        const offline = json(
          await send(editor, 'PATCH', `/api/v1/streams/${s.id}`, { status: 'offline' }),
        ).stream
        assert.ok(offline.last_checked_at)
        assert.equal(offline.last_live_at, null)
        const live = json(await send(editor, 'PUT', `/api/v1/streams/${s.id}`, { status: 'Live' })).stream
        assert.ok(live.last_live_at)
        assert.ok(live.last_checked_at >= offline.last_checked_at)
        const checked = json(
          await send(editor, 'PATCH', `/api/v1/streams/${s.id}`, { last_checked: '2024-01-01T00:00:00Z' }),
        ).stream
        assert.equal(checked.last_checked_at, '2024-01-01T00:00:00.000Z')

        const pinned = await send(editor, 'PUT', `/api/v1/streams/${s.id}/pin`)
        assert.equal(json(pinned).stream.is_pinned, true)
        const unpinned = await send(editor, 'DELETE', `/api/v1/streams/${s.id}/pin`)
        assert.equal(json(unpinned).stream.is_pinned, false)
        const archived = await send(editor, 'POST', `/api/v1/streams/${s.id}/archive`)
        assert.equal(json(archived).stream.is_archived, true)
        const back = await send(editor, 'POST', `/api/v1/streams/${s.id}/unarchive`)
        assert.equal(json(back).stream.is_archived, false)
        const viaPatch = await send(editor, 'PATCH', `/api/v1/streams/${s.id}`, { is_archived: true })
        assert.equal(json(viaPatch).stream.is_archived, true)
        const del = await send(editor, 'DELETE', `/api/v1/streams/${s.id}`)
        assert.equal(del.statusCode, 204)
        assert.equal((await send(editor, 'GET', `/api/v1/streams/${s.id}`)).statusCode, 404)
      })

      it('lists with every filter, sort, pagination and format=array', async () => {
        const tag = `f${Date.now().toString(36)}`
        const mine = await account(ctx.app, 'editor')
        const a = await create(mine, { link: uniqueLink('twitch.tv'), title: `${tag} Alpha`, status: 'live' })
        const b = await create(mine, {
          link: uniqueLink('youtube.com'),
          title: `${tag} bravo`,
          status: 'offline',
        })
        const c = await create(mine, {
          link: uniqueLink('kick.com'),
          title: `${tag} Charlie`,
          status: 'live',
        })
        const d = await create(mine, {
          link: uniqueLink('kick.com'),
          title: `${tag} Delta`,
          is_archived: true,
        })
        await send(mine, 'PUT', `/api/v1/streams/${b.id}/pin`)
        const ids = async (query: string) => {
          const res = await send(viewer, 'GET', `/api/v1/streams?user_id=${mine.id}&${query}`)
          assert.equal(res.statusCode, 200, res.body)
          return json(res).streams.map((s: any) => s.id)
        }
        assert.deepEqual(await ids(''), [b.id, c.id, a.id], 'pinned first, then newest; archived left out')
        assert.deepEqual(await ids('status=live'), [c.id, a.id])
        assert.deepEqual(await ids('notStatus=live'), [b.id])
        // The status words checkers write are stored as StreamSource's three, and found by them too.
        assert.deepEqual(await ids('status=online'), [c.id, a.id])
        assert.deepEqual(await ids('notStatus=Ended'), [c.id, a.id])
        // `constructor` is no status: refused as any unknown word is (qa28-list-params.test.ts).
        assert.equal((await send(viewer, 'GET', '/api/v1/streams?status=constructor')).statusCode, 422)
        assert.deepEqual(await ids('is_pinned=true'), [b.id])
        assert.deepEqual(await ids('pinned=false'), [c.id, a.id])
        assert.deepEqual(await ids('is_archived=true'), [d.id])
        assert.deepEqual(await ids('platform=kick'), [c.id])
        assert.deepEqual(await ids(`search=${encodeURIComponent('BRAVO')}`), [b.id])
        assert.deepEqual(await ids('sort=name'), [a.id, b.id, c.id])
        assert.deepEqual(await ids('sort=-name'), [c.id, b.id, a.id])
        assert.deepEqual(await ids('sort=created'), [a.id, b.id, c.id])
        assert.deepEqual(await ids('sort=-created'), [c.id, b.id, a.id])
        const variant = `${a.link.replace('https://', 'http://www.')}/?utm_campaign=x`
        assert.deepEqual(await ids(`link=${encodeURIComponent(variant)}`), [a.id])
        assert.deepEqual(await ids(`url=${encodeURIComponent(a.link)}`), [a.id])
        assert.deepEqual(await ids('link=garbage'), [])

        const page = json(await send(viewer, 'GET', `/api/v1/streams?user_id=${mine.id}&per_page=2&page=2`))
        assert.deepEqual(page.meta, { current_page: 2, total_pages: 2, total_count: 3, per_page: 2 })
        assert.deepEqual(
          page.streams.map((s: any) => s.id),
          [a.id],
        )
        const capped = json(await send(viewer, 'GET', '/api/v1/streams?per_page=1000'))
        assert.equal(capped.meta.per_page, 100)
        const arr = json(
          await send(viewer, 'GET', `/api/v1/streams?user_id=${mine.id}&format=array&status=live`),
        )
        assert.ok(Array.isArray(arr))
        assert.deepEqual(
          arr.map((s: any) => s.id),
          [c.id, a.id],
        )
        const bad = await send(viewer, 'GET', '/api/v1/streams?page=0')
        assert.equal(bad.statusCode, 422)
        assert.equal((await send(viewer, 'GET', '/api/v1/streams?is_pinned=maybe')).statusCode, 422)
      })

      it('refuses out-of-range times, control characters and over-long values, from JSON and CSV alike', async () => {
        const post = (payload: unknown) => send(editor, 'POST', '/api/v1/streams', payload as object)
        // Years PostgreSQL cannot store were 500s; a 422 names the field.
        for (const when of ['-100000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '0001-01-01T00:00:00Z']) {
          const res = await post({ link: uniqueLink(), last_checked_at: when })
          assert.equal(res.statusCode, 422, `${when}: ${res.body}`)
          assert.deepEqual(json(res).details, { last_checked_at: ['is not a valid datetime'] })
        }
        const ok = await post({
          link: uniqueLink(),
          last_live_at: '2024-06-01T12:00:00Z',
          notes: 'a\n\tb',
          title: 'Pasted with its line break\r\n',
        })
        assert.equal(ok.statusCode, 201, ok.body)
        assert.equal(json(ok).stream.notes, 'a\n\tb', 'notes keep tabs and line breaks')
        assert.equal(json(ok).stream.title, 'Pasted with its line break', 'trimmed, as before')
        // A word every object answers to is no status (it reached the database as a function).
        for (const status of ['constructor', 'toString', '__proto__']) {
          const res = await post({ link: uniqueLink(), status })
          assert.equal(res.statusCode, 422, `${status}: ${res.body}`)
          assert.deepEqual(Object.keys(json(res).details), ['status'])
        }
        // An ESC sequence (recolours a terminal), a BEL, a line break in a one-line field.
        for (const [field, value] of [
          ['title', 'a\u001b]0;pwned\u0007b'],
          ['city', 'x\ny'],
          ['link', `${uniqueLink()}\u001b[31m`],
          ['notes', 'bell\u0007'],
          ['posted_by', 'c1\u0085'],
        ] as const) {
          const res = await post({ link: uniqueLink(), [field]: value })
          assert.equal(res.statusCode, 422, `${field}: ${res.body}`)
          assert.deepEqual(Object.keys(json(res).details), [field])
        }

        // A CSV import has no body schema: the same limits apply row by row.
        const l1 = uniqueLink()
        const l2 = uniqueLink()
        const l3 = uniqueLink()
        const l4 = uniqueLink()
        const csv = [
          'link,title,is_pinned,last_checked_at',
          `${l1},${'x'.repeat(501)},,`,
          `${l2},fine,maybe,`,
          `${l3},fine,,-100000-01-01T00:00:00Z`,
          `${l4},"Fine, too",no,`,
        ].join('\r\n')
        const imp = await inject({
          method: 'POST',
          url: '/api/v1/streams/import',
          headers: { ...editor.headers, 'content-type': 'text/csv' },
          payload: csv,
        })
        assert.equal(imp.statusCode, 200, imp.body)
        const results = json(imp).results
        assert.deepEqual(
          results.map((r: any) => [r.success, r.details && Object.keys(r.details)]),
          [
            [false, ['title']],
            [false, ['is_pinned']],
            [false, ['last_checked_at']],
            [true, undefined],
          ],
        )
        assert.equal(results[0].details.title[0], 'is too long (maximum is 500 characters)')
        assert.equal(results[3].stream.is_pinned, false)
        for (const link of [l1, l2, l3]) {
          const found = await send(editor, 'GET', `/api/v1/streams?link=${encodeURIComponent(link)}`)
          assert.equal(json(found).meta.total_count, 0, `${link} was not imported`)
        }
        // A NUL (which PostgreSQL cannot store) fails its row like any control character, not the file.
        const nul = await inject({
          method: 'POST',
          url: '/api/v1/streams/import',
          headers: { ...editor.headers, 'content-type': 'text/csv' },
          payload: `link,title\r\n${uniqueLink()},ok\r\n${uniqueLink()},a\u0000b\r\n`,
        })
        assert.equal(nul.statusCode, 200, nul.body)
        assert.deepEqual([json(nul).created, json(nul).failed], [1, 1])
        assert.deepEqual(json(nul).results[1].details, { title: ['must not contain control characters'] })
      })

      it('answers odd query strings with 4xx, never a 500', async () => {
        for (const query of ['search=%00', 'link=%00']) {
          const res = await send(viewer, 'GET', `/api/v1/streams?${query}`)
          assert.equal(res.statusCode, 400, `${query}: ${res.body}`)
          assert.deepEqual(Object.keys(json(res)), ['error'])
        }
        // A status or platform is one of a list: anything else, NUL included, is a 422 naming it.
        for (const [query, field] of [
          ['status=a%00b', 'status'],
          ['platform=%00', 'platform'],
        ]) {
          const res = await send(viewer, 'GET', `/api/v1/streams?${query}`)
          assert.equal(res.statusCode, 422, `${query}: ${res.body}`)
          assert.deepEqual(Object.keys(json(res).details), [field])
        }
        const users = await send(admin, 'GET', '/api/v1/users?page=1e300')
        assert.equal(users.statusCode, 422, users.body)
        assert.ok(json(users).details.page)
      })

      it('a link taken by a concurrent change is refused, not a 500', async () => {
        // Each change checks that the link is free, then writes: racing changes pass the check
        // together and only the database's unique key tells them apart (PostgreSQL interleaves them).
        for (let round = 0; round < 4; round++) {
          const streams = await Promise.all(
            Array.from({ length: 10 }, () => create(editor, { link: uniqueLink() })),
          )
          const target = uniqueLink()
          const answers = await Promise.all(
            streams.map((s) => send(editor, 'PATCH', `/api/v1/streams/${s.id}`, { link: target })),
          )
          const codes = answers.map((r) => r.statusCode)
          assert.equal(codes.filter((c) => c === 200).length, 1, codes.join(' '))
          for (const r of answers.filter((r) => r.statusCode !== 200)) {
            assert.equal(r.statusCode, 422, r.body)
            assert.deepEqual(json(r).details, { link: ['has already been taken'] })
          }
        }
      })

      it('batch-updates per item, by id or link', async () => {
        const s1 = await create(editor, { link: uniqueLink() })
        const s2 = await create(editor, { link: uniqueLink() })
        const foreign = await create(editor2, { link: uniqueLink() })
        const res = await inject({
          method: 'PATCH',
          url: '/api/v1/streams/batch',
          headers: editor.headers,
          payload: [
            { id: s1.id, status: 'live' },
            { url: s2.link.replace('https://', 'http://'), status: 'offline' },
            { id: foreign.id, status: 'live' },
            { id: 999999, status: 'live' },
            { id: s1.id, status: 'bogus' },
          ],
        })
        assert.equal(res.statusCode, 200)
        const body = json(res)
        assert.equal(body.updated, 2)
        assert.equal(body.failed, 3)
        assert.deepEqual(
          body.results.map((r: any) => [r.index, r.success, r.error ?? r.stream.status]),
          [
            [0, true, 'live'],
            [1, true, 'offline'],
            [2, false, 'You are not authorized to perform this action'],
            [3, false, 'Record not found'],
            [4, false, 'Status is not included in the list (live, offline, unknown)'],
          ],
        )
        const wrapped = await send(editor, 'PATCH', '/api/v1/streams/batch', {
          streams: [{ id: s1.id, title: 'W' }],
        })
        assert.equal(json(wrapped).results[0].stream.title, 'W')
      })

      it('imports JSON and CSV with partial failures, and exports CSV/JSON respecting filters', async () => {
        const existing = await create(editor, { link: uniqueLink() })
        const l1 = uniqueLink('twitch.tv')
        const res = await send(editor, 'POST', '/api/v1/streams/import', {
          streams: [{ link: l1, title: 'Imported' }, { link: existing.link }, { link: 'nope' }],
        })
        assert.equal(res.statusCode, 200, res.body)
        const body = json(res)
        assert.deepEqual([body.created, body.duplicates, body.failed], [1, 1, 1])
        assert.equal(body.results[2].details.link[0], 'must be a valid HTTP or HTTPS URL')

        const l2 = uniqueLink('kick.com')
        const csv = `link,title,status,city,is_pinned\r\n${l2},"Hello, CSV",live,Austin,true\r\nbad-link,x,live,,\r\n`
        const imp = await inject({
          method: 'POST',
          url: '/api/v1/streams/import',
          headers: { ...editor.headers, 'content-type': 'text/csv' },
          payload: csv,
        })
        assert.equal(imp.statusCode, 200, imp.body)
        assert.deepEqual([json(imp).created, json(imp).failed], [1, 1])
        const csvStream = json(imp).results[0].stream
        assert.equal(csvStream.title, 'Hello, CSV')
        assert.equal(csvStream.is_pinned, true)
        assert.equal(csvStream.platform, 'kick')
        assert.equal((await send(viewer, 'POST', '/api/v1/streams/import', [])).statusCode, 403)

        const out = await send(
          editor,
          'GET',
          `/api/v1/streams/export?format=csv&user_id=${editor.id}&platform=kick`,
        )
        assert.equal(out.statusCode, 200)
        assert.match(String(out.headers['content-type']), /^text\/csv/)
        const lines = out.body.trim().split('\r\n')
        assert.equal(lines[0]!.split(',')[1], 'link')
        assert.ok(lines.length >= 2)
        assert.ok(
          lines.slice(1).every((l) => l.split(',')[3] === 'kick'),
          'platform filter respected',
        )
        assert.ok(!out.body.includes(l1), 'twitch import not exported')
        assert.ok(lines[1]!.includes('"Hello, CSV"'))
        const jsonOut = json(
          await send(editor, 'GET', `/api/v1/streams/export?user_id=${editor.id}&status=live`),
        )
        assert.ok(jsonOut.streams.every((s: any) => s.status === 'live'))
        assert.ok(jsonOut.streams.some((s: any) => s.id === csvStream.id))
      })
    })

    it('maintenance switch: 503 everywhere but health, on and off by an admin', async () => {
      const off = await send(editor, 'PUT', '/api/v1/admin/maintenance', { enabled: true })
      assert.equal(off.statusCode, 403)
      const on = await send(admin, 'PUT', '/api/v1/admin/maintenance', { enabled: true })
      assert.equal(json(on).maintenance, true)
      for (const url of ['/api/v1/streams', '/api/campaign', '/docs/openapi.json']) {
        const res = await inject({ url, headers: admin.headers })
        assert.equal(res.statusCode, 503, url)
        assert.deepEqual(json(res), {
          error: 'The API is currently under maintenance. Please try again later.',
          maintenance: true,
        })
      }
      const health = await inject({ url: '/health' })
      assert.equal(health.statusCode, 200)
      assert.equal(json(health).status, 'healthy')
      assert.ok(json(health).timestamp && json(health).version)
      assert.equal((await inject({ url: '/health/live' })).statusCode, 200)
      await send(admin, 'PUT', '/api/v1/admin/maintenance', { enabled: false })
      assert.equal((await send(admin, 'GET', '/api/v1/streams')).statusCode, 200)
    })
  })
}

describe('MAINTENANCE_MODE=true from config', () => {
  it('answers 503 but health, and the admin toggle cannot turn it off', async () => {
    const ctx = await buildTestApp({ env: { MAINTENANCE_MODE: 'true' } })
    try {
      const res = await ctx.app.inject({ url: '/api/v1/streams' })
      assert.equal(res.statusCode, 503)
      assert.equal(json(res).maintenance, true)
      assert.equal((await ctx.app.inject({ url: '/health' })).statusCode, 200)
      const state = await ctx.app.inject({
        method: 'PUT',
        url: '/api/v1/admin/maintenance',
        headers: adminHeaders,
        payload: { enabled: false },
      })
      assert.deepEqual(json(state), { maintenance: true, forced_by_config: true })
    } finally {
      await ctx.close()
    }
  })
})
