import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { hashPassword } from '../src/platform/auth/password-hash.js'
import { createRateLimiter } from '../src/platform/http/rate-limiter.js'
import type { RealtimeMessage } from '../src/realtime/publish.js'
import {
  captureFrames,
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  json,
  REDIS_URL,
  type TestContext,
  uniqueSlug,
} from './helper.js'
import { assertLimitsPerKey } from './rate-limiter-contract.js'
import { waitFor } from './wait-for.js'

const CODE = /^[2-9A-HJKMNP-Z]{7}$/
const PASSWORD = 'correct horse 42'

const email = (tag = 'p') => `${tag}_${randomBytes(4).toString('hex')}@example.com`
const ip = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`

function register(app: FastifyInstance, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/user/register', payload: body, headers })
}

function login(app: FastifyInstance, body: Record<string, unknown>, fromIp = '10.0.0.1') {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: body,
    headers: { 'x-forwarded-for': fromIp },
  })
}

for (const dialect of DIALECTS) {
  describe(`users (${dialect})`, () => {
    let ctx: TestContext
    let app: FastifyInstance
    let slug: string
    const frames: RealtimeMessage[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      app = ctx.app
      slug = await createCampaign(app)
      await captureFrames(app, (m) => frames.push(m as RealtimeMessage))
    })
    after(() => ctx.close())

    it('registers over REST with a normalised email, a referral code and a participant token', async () => {
      const raw = `  Ada_${randomBytes(3).toString('hex')}@Example.COM `
      const res = await register(app, {
        campaign: slug,
        email: raw,
        name: ' Ada ',
        consent: { text_version: 'v3' },
      })
      assert.equal(res.statusCode, 201, res.body)
      const body = json(res)
      assert.equal(body.user.email, raw.trim().toLowerCase())
      assert.equal(body.user.display_name, 'Ada')
      assert.equal(body.user.campaign, slug)
      assert.match(body.user.referral_code, CODE)
      assert.equal(body.created, true)
      const principal = await app.platform.tokens.verify(body.token)
      assert.equal(principal.user_id, body.user.id)
      assert.deepEqual(principal.roles, ['participant'])
      const row = await app.platform.database.db
        .selectFrom('service_user_master')
        .selectAll()
        .where('id', '=', body.user.id)
        .executeTakeFirstOrThrow()
      assert.equal(row.consent?.text_version, 'v3')
      assert.ok(!Number.isNaN(Date.parse(row.consent!.at)))
      assert.equal(row.password_hash, null)

      // The welcome notification goes to this user's sockets only.
      const welcome = await waitFor(
        () =>
          frames.find(
            (f) =>
              f.frame.type === 'notification' &&
              f.audience.scope === 'user' &&
              f.audience.user_id === body.user.id,
          ),
        'welcome notification',
      )
      assert.equal((welcome.audience as { campaign?: string }).campaign, slug)
    })

    it('registers through the action, upgrading the guest session, and never logs the password', async () => {
      const guest = await guestToken(app)
      const address = email('act')
      const res = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { action: 'register', data: { email: address, name: 'Grace', password: PASSWORD } },
      })
      assert.equal(res.statusCode, 200, res.body)
      const result = json(res).result
      assert.equal(result.session_id, guest.session_id)
      const principal = await app.platform.tokens.verify(result.token)
      assert.equal(principal.session_id, guest.session_id)
      assert.equal(principal.user_id, result.user.id)

      const events = await app.platform.database.db
        .selectFrom('service_analytics_event')
        .select(['event', 'payload'])
        .where('session_id', '=', guest.session_id)
        .execute()
      assert.equal(events.length, 1)
      assert.equal((events[0]!.payload as any).password, '[redacted]')
      assert.ok(!JSON.stringify(events).includes(PASSWORD))
      const row = await app.platform.database.db
        .selectFrom('service_user_master')
        .select('password_hash')
        .where('id', '=', result.user.id)
        .executeTakeFirstOrThrow()
      assert.match(row.password_hash!, /^scrypt\$/)
      assert.ok(!row.password_hash!.includes(PASSWORD))
    })

    it('repeats a passwordless join idempotently for its own caller: same person, same code', async () => {
      const address = email('again')
      const guest = await guestToken(app)
      const as = (token: string) => ({ authorization: `Bearer ${token}` })
      const first = json(
        await register(app, { campaign: slug, email: address, name: 'Lin' }, as(guest.token)),
      )
      // A retry with the guest token the join upgraded, or with the token it gave: the same answer.
      for (const token of [guest.token, first.token]) {
        const res = await register(
          app,
          { campaign: slug, email: `  ${address.toUpperCase()}`, name: 'Lin' },
          as(token),
        )
        assert.equal(res.statusCode, 200, res.body)
        const second = json(res)
        assert.equal(second.created, false)
        assert.equal(second.user.id, first.user.id)
        assert.equal(second.user.referral_code, first.user.referral_code)
        assert.equal(second.session_id, guest.session_id)
      }
      const n = await app.platform.database.db
        .selectFrom('service_user_membership')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', first.user.id)
        .executeTakeFirstOrThrow()
      assert.equal(Number(n.n), 1)

      // Concurrent first joins of one email from one page (one guest session) make one person
      // with one code, and every one of them is answered as that person.
      const racing = email('race')
      const page = await guestToken(app)
      const all = await Promise.all(
        Array.from({ length: 5 }, () =>
          register(app, { campaign: slug, email: racing, name: 'R' }, as(page.token)),
        ),
      )
      assert.deepEqual(
        all.map((r) => r.statusCode).sort(),
        [200, 200, 200, 200, 201],
        all.map((r) => r.body).join('\n'),
      )
      assert.equal(new Set(all.map((r) => json(r).user.id)).size, 1)
      assert.equal(new Set(all.map((r) => json(r).user.referral_code)).size, 1)
    })

    it('answers anyone else joining with a passwordless member’s email 409, handing over nothing', async () => {
      const address = email('victim')
      const victim = json(await register(app, { campaign: slug, email: address, name: 'Victim' }))
      const other = await guestToken(app)
      const stranger = json(await register(app, { campaign: slug, email: email('stranger'), name: 'S' }))
      for (const headers of [
        {} as Record<string, string>,
        { authorization: `Bearer ${other.token}` },
        { authorization: `Bearer ${stranger.token}` },
      ]) {
        const res = await register(
          app,
          { campaign: slug, email: address.toUpperCase(), name: 'Mallory' },
          headers,
        )
        assert.equal(res.statusCode, 409, res.body)
        assert.equal(json(res).error.code, 'EMAIL_TAKEN')
        for (const secret of [victim.user.id, victim.user.referral_code, 'Victim', victim.session_id])
          assert.ok(!res.body.includes(secret), `no ${secret} in ${res.body}`)
      }
      // Nor through the action, nor in another campaign (a new membership would hand over a token).
      const elsewhere = await createCampaign(app)
      const viaAction = await app.inject({
        method: 'POST',
        url: `/api/${elsewhere}/update`,
        headers: { authorization: `Bearer ${other.token}` },
        payload: { action: 'register', data: { email: address, name: 'Mallory' } },
      })
      assert.equal(viaAction.statusCode, 409, viaAction.body)
      assert.equal(json(viaAction).error.code, 'EMAIL_TAKEN')
      // Concurrent anonymous joins of one new email: one person, the others refused.
      const racing = email('anon_race')
      const all = await Promise.all(
        Array.from({ length: 4 }, () => register(app, { campaign: slug, email: racing, name: 'A' })),
      )
      assert.deepEqual(all.map((r) => r.statusCode).sort(), [201, 409, 409, 409])
      // The member themself, from their own token, may join another campaign.
      const joinsElsewhere = await register(
        app,
        { campaign: elsewhere, email: address, name: 'Victim' },
        { authorization: `Bearer ${victim.token}` },
      )
      assert.equal(joinsElsewhere.statusCode, 201, joinsElsewhere.body)
      assert.equal(json(joinsElsewhere).user.id, victim.user.id)
    })

    it('counts each new member once in the campaign stats, whatever the route', async () => {
      const own = await createCampaign(app)
      const stats = async () =>
        json(await app.inject({ method: 'GET', url: `/api/campaign/${own}/stats`, headers: adminHeaders }))
          .counters as Record<string, number>
      const first = email('counted')
      const one = json(await register(app, { campaign: own, email: first, name: 'One' }))
      // A repeat join.
      await register(
        app,
        { campaign: own, email: first, name: 'One' },
        { authorization: `Bearer ${one.token}` },
      )
      const racing = email('counted_race')
      const page = await guestToken(app)
      await Promise.all(
        Array.from({ length: 4 }, () =>
          register(
            app,
            { campaign: own, email: racing, name: 'Two' },
            { authorization: `Bearer ${page.token}` },
          ),
        ),
      )
      // Through the action too.
      const { token } = await guestToken(app)
      const viaAction = await app.inject({
        method: 'POST',
        url: `/api/${own}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: { action: 'register', data: { email: email('counted_action'), name: 'Three' } },
      })
      assert.equal(viaAction.statusCode, 200, viaAction.body)
      // Someone already a member elsewhere joining this campaign is a new member here.
      const elsewhere = email('elsewhere_first')
      const four = json(await register(app, { campaign: slug, email: elsewhere, name: 'Four' }))
      await register(
        app,
        { campaign: own, email: elsewhere, name: 'Four' },
        { authorization: `Bearer ${four.token}` },
      )
      assert.equal((await stats()).registrations, 4)
    })

    it('answers 409 EMAIL_TAKEN where a password would be set or overwritten, leaking nothing', async () => {
      const address = email('taken')
      const first = json(
        await register(app, { campaign: slug, email: address, name: 'Owner', password: PASSWORD }),
      )
      for (const attempt of [{ name: 'Mallory' }, { name: 'Mallory', password: 'another pass 99' }]) {
        const res = await register(app, { campaign: slug, email: address, ...attempt })
        assert.equal(res.statusCode, 409, res.body)
        assert.equal(json(res).error.code, 'EMAIL_TAKEN')
        assert.ok(!res.body.includes(first.user.id))
        assert.ok(!res.body.includes('Owner'))
        assert.ok(!res.body.includes(first.user.referral_code))
      }
      // With the right password a repeat join is the owner's, idempotent.
      const same = await register(app, { campaign: slug, email: address, name: 'Owner', password: PASSWORD })
      assert.equal(same.statusCode, 200, same.body)
      assert.equal(json(same).user.id, first.user.id)

      // A password on an account that never had one would hand the account over.
      const passwordless = email('nopw')
      await register(app, { campaign: slug, email: passwordless, name: 'NoPw' })
      const grab = await register(app, { campaign: slug, email: passwordless, name: 'X', password: PASSWORD })
      assert.equal(grab.statusCode, 409)
      assert.equal(json(grab).error.code, 'EMAIL_TAKEN')
    })

    it('refuses weak passwords, bad emails and disabled registration with clear codes', async () => {
      const weak = await register(app, { campaign: slug, email: email(), name: 'W', password: 'short1' })
      assert.equal(weak.statusCode, 400)
      assert.equal(json(weak).error.code, 'WEAK_PASSWORD')
      const letters = await register(app, {
        campaign: slug,
        email: email(),
        name: 'W',
        password: 'onlylettersherefolks',
      })
      assert.equal(json(letters).error.code, 'WEAK_PASSWORD')
      // Ten characters, letters and digits, and still guessed at once: too few different ones.
      for (const password of ['aaaaaaaaa1', '1111111111a', 'ab12ab12ab12']) {
        const repetitive = await register(app, { campaign: slug, email: email(), name: 'W', password })
        assert.equal(repetitive.statusCode, 400, `${password}: ${repetitive.body}`)
        assert.equal(json(repetitive).error.code, 'WEAK_PASSWORD')
      }
      const bad = await register(app, { campaign: slug, email: 'not-an-email', name: 'W' })
      assert.equal(bad.statusCode, 400)
      assert.equal(json(bad).error.code, 'VALIDATION_FAILED')
      const off = await createCampaign(app, { features: ['analytics'] })
      const disabled = await register(app, { campaign: off, email: email(), name: 'W' })
      assert.equal(disabled.statusCode, 403)
      assert.equal(json(disabled).error.code, 'FEATURE_DISABLED')
      const missing = await register(app, { campaign: uniqueSlug('nope'), email: email(), name: 'W' })
      assert.equal(missing.statusCode, 404)
    })

    it('logs in with the password, and refuses wrong or unknown credentials alike', async () => {
      const address = email('login')
      const joined = json(
        await register(app, { campaign: slug, email: address, name: 'Log', password: PASSWORD }),
      )
      const from = ip()
      const ok = await login(app, { email: address.toUpperCase(), password: PASSWORD, campaign: slug }, from)
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(json(ok).user.id, joined.user.id)
      assert.equal(json(ok).user.referral_code, joined.user.referral_code)
      assert.equal((await app.platform.tokens.verify(json(ok).token)).user_id, joined.user.id)
      const wrong = await login(app, { email: address, password: 'wrong password 1' }, from)
      assert.equal(wrong.statusCode, 401)
      assert.equal(json(wrong).error.code, 'INVALID_CREDENTIALS')
      const unknown = await login(app, { email: email('ghost'), password: PASSWORD }, from)
      assert.equal(unknown.statusCode, 401)
      assert.equal(json(unknown).error.code, 'INVALID_CREDENTIALS')
    })

    it('rate-limits login per email from one network (429 with Retry-After), then per IP', async () => {
      const address = email('brute')
      await register(app, { campaign: slug, email: address, name: 'B', password: PASSWORD })
      const guesser = ip()
      for (let i = 0; i < 5; i++) {
        const res = await login(app, { email: address, password: `guess number ${i}` }, guesser)
        assert.equal(res.statusCode, 401)
      }
      // Even the right password is refused now from that network: its budget for the email is spent.
      const blocked = await login(app, { email: address, password: PASSWORD }, guesser)
      assert.equal(blocked.statusCode, 429)
      assert.equal(json(blocked).error.code, 'RATE_LIMITED')
      assert.ok(Number(blocked.headers['retry-after']) > 0)
      // Not from the owner's (see users-limiter.test.ts for the ceiling over all networks).
      assert.equal((await login(app, { email: address, password: PASSWORD }, ip())).statusCode, 200)

      const from = ip()
      for (let i = 0; i < 30; i++) {
        const res = await login(app, { email: email('spray'), password: PASSWORD }, from)
        assert.equal(res.statusCode, 401, `attempt ${i}`)
      }
      const sprayed = await login(app, { email: email('spray'), password: PASSWORD }, from)
      assert.equal(sprayed.statusCode, 429)
      assert.ok(Number(sprayed.headers['retry-after']) > 0)
    })

    it('counts a join’s password guesses against the same budget as login', async () => {
      const address = email('join_brute')
      await register(app, { campaign: slug, email: address, name: 'B', password: PASSWORD })
      const guesser = ip()
      const guess = (password: string) =>
        register(app, { campaign: slug, email: address, name: 'M', password }, { 'x-forwarded-for': guesser })
      for (let i = 0; i < 3; i++) assert.equal((await guess(`guess number ${i}`)).statusCode, 409)
      for (let i = 3; i < 5; i++) {
        const res = await login(app, { email: address, password: `guess number ${i}` }, guesser)
        assert.equal(res.statusCode, 401)
      }
      const blocked = await guess(PASSWORD)
      assert.equal(blocked.statusCode, 429, blocked.body)
      assert.ok(Number(blocked.headers['retry-after']) > 0)
    })

    it('answers a password join of a passwordless account as a wrong password is, 429 included', async () => {
      // Else 409 forever here, and 429 after a few guesses for an account with a password, would
      // tell which accounts have a password worth guessing.
      const address = email('nopw_guess')
      await register(app, { campaign: slug, email: address, name: 'N' })
      const guesser = ip()
      const guess = (password: string) =>
        register(app, { campaign: slug, email: address, name: 'M', password }, { 'x-forwarded-for': guesser })
      for (let i = 0; i < 5; i++) {
        const res = await guess(`guess number ${i}`)
        assert.equal(res.statusCode, 409, res.body)
        assert.equal(json(res).error.code, 'EMAIL_TAKEN')
      }
      const blocked = await guess('guess number 5')
      assert.equal(blocked.statusCode, 429, blocked.body)
      assert.ok(Number(blocked.headers['retry-after']) > 0)
    })

    it('lets a password account join again with its own token, or a password set under older rules', async () => {
      const guest = await guestToken(app)
      const asGuest = { authorization: `Bearer ${guest.token}` }
      const address = email('pw_owner')
      const owner = json(
        await register(app, { campaign: slug, email: address, name: 'Owner', password: PASSWORD }, asGuest),
      )
      const elsewhere = await createCampaign(app)
      // Their own token proves what the password would: no need to send it again.
      const own = await register(
        app,
        { campaign: elsewhere, email: address, name: 'Owner' },
        { authorization: `Bearer ${owner.token}` },
      )
      assert.equal(own.statusCode, 201, own.body)
      assert.equal(json(own).user.id, owner.user.id)
      // The browser's guest session is not enough for an account with a password, nor another's token.
      const third = await createCampaign(app)
      const stranger = json(await register(app, { campaign: third, email: email('str'), name: 'S' }))
      for (const headers of [asGuest, { authorization: `Bearer ${stranger.token}` }]) {
        const res = await register(app, { campaign: third, email: address, name: 'Owner' }, headers)
        assert.equal(res.statusCode, 409, res.body)
      }

      // A password the strength rule would refuse today is still its owner's to join with.
      const old = email('old_rules')
      const made = json(await register(app, { campaign: slug, email: old, name: 'Old' }))
      await app.platform.database.db
        .updateTable('service_user_master')
        .set({ password_hash: await hashPassword('aaaaaaaaa1') })
        .where('id', '=', made.user.id)
        .execute()
      const again = await register(
        app,
        { campaign: elsewhere, email: old, name: 'Old', password: 'aaaaaaaaa1' },
        { 'x-forwarded-for': ip() },
      )
      assert.equal(again.statusCode, 201, again.body)
      assert.equal(json(again).user.id, made.user.id)
    })

    it('counts login attempts per IPv6 /64, and an IPv4-mapped address as that IPv4 address', async () => {
      const hex = () => randomBytes(2).toString('hex')
      const net = `2001:db8:${hex()}:${hex()}`
      // Every attempt from another address of the one /64, as any IPv6 client can send them.
      for (let i = 0; i < 30; i++) {
        const res = await login(
          app,
          { email: email('v6'), password: PASSWORD },
          `${net}:${i.toString(16)}::1`,
        )
        assert.equal(res.statusCode, 401, `attempt ${i}`)
      }
      const sprayed = await login(app, { email: email('v6'), password: PASSWORD }, `${net}:ffff:1:2:3`)
      assert.equal(sprayed.statusCode, 429, sprayed.body)
      const elsewhere = await login(app, { email: email('v6'), password: PASSWORD }, `2001:db8:${hex()}::1`)
      assert.equal(elsewhere.statusCode, 401)

      const v4 = ip()
      for (let i = 0; i < 30; i++) {
        const from = i % 2 === 0 ? v4 : `::ffff:${v4}`
        const res = await login(app, { email: email('v4'), password: PASSWORD }, from)
        assert.equal(res.statusCode, 401, `attempt ${i}`)
      }
      const mapped = await login(app, { email: email('v4'), password: PASSWORD }, `::ffff:${v4}`)
      assert.equal(mapped.statusCode, 429, mapped.body)
    })

    it('takes an address in any Unicode form as one person (NFC), and keeps +tags apart', async () => {
      const tag = randomBytes(3).toString('hex')
      const composed = `jos\u00e9_${tag}@example.com`
      const decomposed = `JOSE\u0301_${tag}@example.com`
      const first = await register(app, { campaign: slug, email: composed, name: 'José', password: PASSWORD })
      assert.equal(first.statusCode, 201, first.body)
      const again = await register(app, { campaign: slug, email: decomposed, name: 'Not José' })
      assert.equal(again.statusCode, 409, again.body)
      assert.equal(json(again).error.code, 'EMAIL_TAKEN')
      const loggedIn = await login(app, { email: decomposed, password: PASSWORD }, ip())
      assert.equal(loggedIn.statusCode, 200, loggedIn.body)
      assert.equal(json(loggedIn).user.id, json(first).user.id)
      assert.equal(json(loggedIn).user.email, composed)
      const tagged = await register(app, {
        campaign: slug,
        email: `jos\u00e9_${tag}+news@example.com`,
        name: 'J',
      })
      assert.equal(tagged.statusCode, 201, tagged.body)
      assert.notEqual(json(tagged).user.id, json(first).user.id)

      // An account stored before addresses were NFC is still found as its owner types it.
      const legacy = `rene\u0301_${tag}@example.com`
      const rene = await register(app, { campaign: slug, email: legacy, name: 'René', password: PASSWORD })
      assert.equal(rene.statusCode, 201, rene.body)
      await app.platform.database.db
        .updateTable('service_user_master')
        .set({ email: legacy })
        .where('id', '=', json(rene).user.id)
        .execute()
      const old = await login(app, { email: legacy, password: PASSWORD }, ip())
      assert.equal(old.statusCode, 200, old.body)
      assert.equal(json(old).user.id, json(rene).user.id)
    })

    it('refuses names that rewrite what others see, and invisible characters in an address', async () => {
      const tag = randomBytes(3).toString('hex')
      const names = [
        'Ada\u001b[31m',
        'Ada\nAdmin',
        'Ada\u0085',
        'Ada\u2028Admin',
        'Ada\u202Egnp',
        '\u2066Ada\u2069',
        '\u200b \u200b',
      ]
      for (const name of names) {
        const res = await register(app, { campaign: slug, email: email('ctl'), name })
        assert.equal(res.statusCode, 400, `${JSON.stringify(name)}: ${res.body}`)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
        assert.match(JSON.stringify(json(res).error.details), /name/)
      }
      const guest = await guestToken(app)
      const viaAction = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { action: 'register', data: { email: email('ctl'), name: 'Ada\u202Egnp' } },
      })
      assert.equal(viaAction.statusCode, 400, viaAction.body)
      for (const address of [
        `zw\u200b_${tag}@example.com`,
        `soft_${tag}@exa\u00admple.com`,
        `c_${tag}\u0007@example.com`,
      ]) {
        const res = await register(app, { campaign: slug, email: address, name: 'Z' })
        assert.equal(res.statusCode, 400, `${JSON.stringify(address)}: ${res.body}`)
      }
      // Names in any script, emoji sequences (joined by ZWJ) and apostrophes are names.
      for (const name of ['Zoë O’Brien 👩\u200d💻', 'אדה לאבלייס', '李小龍']) {
        const res = await register(app, { campaign: slug, email: email('ok'), name })
        assert.equal(res.statusCode, 201, `${name}: ${res.body}`)
        assert.equal(json(res).user.display_name, name)
      }
    })

    it('erases a person: user row, analytics events and login; counters stay', async () => {
      const db = app.platform.database.db
      const guest = await guestToken(app)
      const address = email('erase')
      const reg = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: {
          request_id: 'erin-joins',
          action: 'user.register',
          data: { email: address, name: 'Erin Erasable', password: PASSWORD, metadata: { phone: '+1555' } },
        },
      })
      assert.equal(reg.statusCode, 200, reg.body)
      const { user, token } = json(reg).result
      const tracked = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: {
          action: 'content.create',
          data: { note: `call Erin at ${address}` },
          metadata: { mail: address },
        },
      })
      assert.equal(tracked.statusCode, 200, tracked.body)
      const countersBefore = json(
        await app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
      )

      const other = json(await register(app, { campaign: slug, email: email('other'), name: 'Other' }))
      const forbidden = await app.inject({
        method: 'DELETE',
        url: `/api/user/${user.id}`,
        headers: { authorization: `Bearer ${other.token}` },
      })
      assert.equal(forbidden.statusCode, 403)

      const res = await app.inject({
        method: 'DELETE',
        url: `/api/user/${user.id}`,
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(json(res).status, 'erased')

      const row = await db
        .selectFrom('service_user_master')
        .selectAll()
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
      assert.equal(row.email, null)
      assert.equal(row.display_name, '')
      assert.equal(row.password_hash, null)
      assert.deepEqual(row.metadata, {})
      assert.ok(row.erased_at)
      const leftovers = await db
        .selectFrom('service_analytics_event')
        .select(['event', 'payload', 'metadata'])
        .where((eb) => eb.or([eb('user_id', '=', user.id), eb('session_id', '=', guest.session_id)]))
        .execute()
      assert.equal(leftovers.length, 2)
      for (const e of leftovers) assert.deepEqual(e.payload, { erased: true })
      const anywhere = await db
        .selectFrom('service_analytics_event')
        .select('id')
        .where(sql<boolean>`(payload::text || metadata::text) ilike ${`%${address}%`}`)
        .execute()
      assert.equal(anywhere.length, 0)
      // Nor in the stored answers a retry would get (the join's held her token and email) ...
      const stored = await db
        .selectFrom('service_nexus_request')
        .select(['status_code', 'response'])
        .where(sql<boolean>`response::text ilike ${`%${address}%`} or response::text like ${`%${token}%`}`)
        .execute()
      assert.equal(stored.length, 0)
      const retried = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${guest.token}` },
        payload: { request_id: 'erin-joins', action: 'user.register', data: { email: address, name: 'E' } },
      })
      // ... nor does the guest session she joined from work any more (its answers were hers) ...
      assert.equal(retried.statusCode, 401, retried.body)
      assert.equal(json(retried).error.code, 'TOKEN_REVOKED')
      // ... and her token no longer works.
      const after = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}` },
        payload: { action: 'content.create', data: { note: 'still here?' } },
      })
      assert.equal(after.statusCode, 401, after.body)
      assert.equal(json(after).error.code, 'TOKEN_REVOKED')
      const countersAfter = json(
        await app.inject({ method: 'GET', url: `/api/campaign/${slug}/stats`, headers: adminHeaders }),
      )
      assert.ok(countersAfter.events_total >= countersBefore.events_total)
      assert.equal(countersAfter.events['content.create'], countersBefore.events['content.create'])
      // Other visitors' guest sessions are not touched.
      const otherGuest = await guestToken(app)
      const fresh = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${otherGuest.token}` },
        payload: { action: 'content.create', data: { note: 'a visitor who was never erased' } },
      })
      assert.equal(fresh.statusCode, 200, fresh.body)

      const relogin = await login(app, { email: address, password: PASSWORD }, ip())
      assert.equal(relogin.statusCode, 401)
      // Erasing twice is harmless; the same email can join again as a new person.
      const again = await app.inject({ method: 'DELETE', url: `/api/user/${user.id}`, headers: adminHeaders })
      assert.equal(again.statusCode, 200)
      const rejoin = await register(app, { campaign: slug, email: address, name: 'New Erin' })
      assert.equal(rejoin.statusCode, 201)
      assert.notEqual(json(rejoin).user.id, user.id)
    })

    it('erasing one of two people who joined from one browser leaves the other and their session alone', async () => {
      const guest = await guestToken(app)
      const asGuest = { authorization: `Bearer ${guest.token}` }
      const first = json(await register(app, { campaign: slug, email: email('ann'), name: 'Ann' }, asGuest))
      const second = json(await register(app, { campaign: slug, email: email('bob'), name: 'Bob' }, asGuest))
      // One browser, one session: how the referral rules see a second account made there.
      assert.equal(first.session_id, guest.session_id)
      assert.equal(second.session_id, guest.session_id)

      const post = (token: string, note: string) =>
        app.inject({
          method: 'POST',
          url: `/api/${slug}/update`,
          headers: { authorization: `Bearer ${token}` },
          payload: { action: 'content.create', data: { note } },
        })
      assert.equal((await post(second.token, 'Bob was here')).statusCode, 200)
      assert.equal((await post(first.token, 'Ann was here')).statusCode, 200)
      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${first.user.id}`,
        headers: adminHeaders,
      })
      assert.equal(erased.statusCode, 200, erased.body)

      const notes = async (userId: string) =>
        (
          await app.platform.database.db
            .selectFrom('service_analytics_event')
            .select('payload')
            .where('user_id', '=', userId)
            .where('event', '=', 'content.create')
            .execute()
        ).map((e) => e.payload)
      assert.deepEqual(await notes(second.user.id), [{ note: 'Bob was here' }])
      assert.deepEqual(await notes(first.user.id), [{ erased: true }])
      // The browser's guest token and Bob's token still work; Ann's does not.
      assert.equal((await post(guest.token, 'the browser')).statusCode, 200)
      assert.equal((await post(second.token, 'Bob again')).statusCode, 200)
      assert.equal((await post(first.token, 'Ann again')).statusCode, 401)
    })

    it('lets an admin erase anyone, and 404s an unknown id', async () => {
      const joined = json(await register(app, { campaign: slug, email: email('adm'), name: 'Adm' }))
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/user/${joined.user.id}`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      const missing = await app.inject({
        method: 'DELETE',
        url: '/api/user/usr_nobody',
        headers: adminHeaders,
      })
      assert.equal(missing.statusCode, 404)
      assert.equal(json(missing).error.code, 'USER_NOT_FOUND')
    })
  })
}

describe('rate limiter (memory)', () => {
  it('allows `limit` attempts per window, then refuses with the time left', async () => {
    const limiter = createRateLimiter()
    await assertLimitsPerKey(limiter)
  })

  it('starts a new window once the old one ends', async () => {
    const limiter = createRateLimiter()
    assert.equal((await limiter.consume('w', 1, 30)).allowed, true)
    assert.equal((await limiter.consume('w', 1, 30)).allowed, false)
    await new Promise((r) => setTimeout(r, 60))
    assert.equal((await limiter.consume('w', 1, 30)).allowed, true)
  })
})

describe('rate limiter (redis)', { skip: !REDIS_URL && 'REDIS_URL not set' }, () => {
  it('shares counts between nodes', async () => {
    const a = new Redis(REDIS_URL!)
    const b = new Redis(REDIS_URL!)
    try {
      const key = `test:${randomBytes(6).toString('hex')}`
      const one = createRateLimiter({ redis: a })
      const two = createRateLimiter({ redis: b })
      assert.equal((await one.consume(key, 2, 60_000)).allowed, true)
      assert.equal((await two.consume(key, 2, 60_000)).allowed, true)
      const refused = await one.consume(key, 2, 60_000)
      assert.equal(refused.allowed, false)
      assert.ok(refused.retryAfter > 0 && refused.retryAfter <= 60)
      await two.reset(key)
      assert.equal((await one.consume(key, 2, 60_000)).allowed, true)
      await one.reset(key)
    } finally {
      a.disconnect()
      b.disconnect()
    }
  })

  it('limits logins per email and network across two app nodes sharing Redis', async () => {
    const first = await buildTestApp({ redis: true })
    const second = await buildTestApp({ redis: true })
    try {
      const address = email('shared')
      const guesser = ip()
      for (let i = 0; i < 5; i++) {
        const node = i % 2 === 0 ? first.app : second.app
        assert.equal((await login(node, { email: address, password: PASSWORD }, guesser)).statusCode, 401)
      }
      const res = await login(second.app, { email: address, password: PASSWORD }, guesser)
      assert.equal(res.statusCode, 429)
      assert.equal((await login(first.app, { email: address, password: PASSWORD }, ip())).statusCode, 401)
    } finally {
      await first.close()
      await second.close()
    }
  })
})
