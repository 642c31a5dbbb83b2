import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

/**
 * People and auth as a security reviewer of a self-hosted install would try them: what a join
 * with a password costs the server, erasing and joining again, the login budget whatever form an
 * address is typed in, and every editor or admin route in front of a guest or a participant.
 */

const PASSWORD = 'correct horse 42'
const tag = () => randomBytes(4).toString('hex')
let networks = 0
/** A client network of its own, so no test spends another's budget. */
const network = () => `10.${113 + (++networks >> 8)}.${networks % 256}.7`

function register(app: FastifyInstance, payload: Record<string, unknown>, headers: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/api/user/register',
    payload: { name: 'Ada', ...payload },
    headers,
  })
}

function login(app: FastifyInstance, payload: Record<string, unknown>, from: string) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload,
    headers: { 'x-forwarded-for': from },
  })
}

const from = (ip: string, token?: string): Record<string, string> => ({
  'x-forwarded-for': ip,
  ...(token ? { authorization: `Bearer ${token}` } : {}),
})

for (const dialect of DIALECTS) {
  describe(`people and auth QA 3 (${dialect})`, () => {
    const suite = suiteApp({ dialect })

    it('budgets joins that set a password per client network: each costs a scrypt hash', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const crowd = network()
      for (let i = 0; i < 30; i++) {
        const res = await register(
          app,
          { campaign: slug, email: `j${i}_${tag()}@example.com`, password: PASSWORD },
          from(crowd),
        )
        assert.equal(res.statusCode, 201, `join ${i + 1}: ${res.body}`)
      }
      const over = await register(
        app,
        { campaign: slug, email: `over_${tag()}@example.com`, password: PASSWORD },
        from(crowd),
      )
      assert.equal(over.statusCode, 429, over.body)
      assert.equal(json(over).error.code, 'RATE_LIMITED')
      assert.ok(Number(over.headers['retry-after']) >= 1)

      // A weak password costs no hash and is answered as before; a join without one costs none
      // either, and another network has its own budget.
      const weak = await register(
        app,
        { campaign: slug, email: `weak_${tag()}@example.com`, password: 'aaaaaaaaaa' },
        from(crowd),
      )
      assert.equal(weak.statusCode, 400, weak.body)
      assert.equal(json(weak).error.code, 'WEAK_PASSWORD')
      const passwordless = await register(
        app,
        { campaign: slug, email: `nopw_${tag()}@example.com` },
        from(crowd),
      )
      assert.equal(passwordless.statusCode, 201, passwordless.body)
      const elsewhere = await register(
        app,
        { campaign: slug, email: `else_${tag()}@example.com`, password: PASSWORD },
        from(network()),
      )
      assert.equal(elsewhere.statusCode, 201, elsewhere.body)
    })

    it('erases a person, then lets the address join again as a new person, the old credentials dead', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const email = `again_${tag()}@example.com`
      const first = json(
        await register(app, { campaign: slug, email, password: PASSWORD }, from(network(), guest.token)),
      )
      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${first.user.id}`,
        headers: { authorization: `Bearer ${first.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)

      // The browser still sends the guest token of the session the erasure revoked: ignored.
      const res = await register(
        app,
        { campaign: slug, email: ` ${email.toUpperCase()} `, password: PASSWORD },
        from(network(), guest.token),
      )
      assert.equal(res.statusCode, 201, res.body)
      const second = json(res)
      assert.notEqual(second.user.id, first.user.id)
      assert.notEqual(second.user.referral_code, first.user.referral_code)
      assert.notEqual(second.session_id, guest.session_id)
      for (const old of [first.token, guest.token]) {
        const me = await app.inject({
          method: 'GET',
          url: '/api/auth/me',
          headers: { authorization: `Bearer ${old}` },
        })
        assert.equal(me.statusCode, 401, me.body)
        assert.equal(json(me).error.code, 'TOKEN_REVOKED')
      }
      const loggedIn = await login(app, { email, password: PASSWORD }, network())
      assert.equal(loggedIn.statusCode, 200, loggedIn.body)
      assert.equal(json(loggedIn).user.id, second.user.id)

      // Erasing the old id again touches nothing of the new person.
      const again = await app.inject({
        method: 'DELETE',
        url: `/api/user/${first.user.id}`,
        headers: adminHeaders,
      })
      assert.equal(again.statusCode, 200, again.body)
      const me = await app.inject({
        method: 'GET',
        url: '/api/auth/me',
        headers: { authorization: `Bearer ${second.token}` },
      })
      assert.equal(me.statusCode, 200, me.body)
      assert.equal(json(me).user.email, email)
      assert.equal((await login(app, { email, password: PASSWORD }, network())).statusCode, 200)
    })

    it('erases the leads sent under the ASCII form of an address with an internationalised domain', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const local = `ada_${tag()}`
      // The lead form takes only ASCII addresses (the domain in its xn-- form); a join stores the
      // domain in Unicode. Both are one mailbox, and the person's.
      const { token: visitor } = await guestToken(app)
      const lead = await app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: from(network(), visitor),
        payload: { campaign: slug, name: 'Ada Lovelace', email: `${local}@XN--EXMPLE-CUA.COM` },
      })
      assert.equal(lead.statusCode, 200, lead.body)
      const joined = json(
        await register(app, { campaign: slug, email: `${local}@exämple.com` }, from(network())),
      )
      assert.equal(joined.user.email, `${local}@exämple.com`)
      const erased = await app.inject({
        method: 'DELETE',
        url: `/api/user/${joined.user.id}`,
        headers: { authorization: `Bearer ${joined.token}` },
      })
      assert.equal(erased.statusCode, 200, erased.body)
      const leads = json(
        await app.inject({ method: 'GET', url: `/api/campaign/${slug}/leads`, headers: adminHeaders }),
      )
      const text = JSON.stringify(leads)
      assert.ok(!text.includes(local), `the lead still names the person: ${text}`)
      assert.ok(!text.includes('Ada Lovelace'), text)
    })

    it('spends one login budget however the address is typed, and none of a +tag’s', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const email = `ada_${tag()}@example.com`
      const tagged = email.replace('@', '+news@')
      for (const address of [email, tagged]) {
        const res = await register(
          app,
          { campaign: slug, email: address, password: PASSWORD },
          from(network()),
        )
        assert.equal(res.statusCode, 201, res.body)
      }
      const guesser = network()
      const forms = [
        ` ${email.toUpperCase()} `,
        email.replace('example.com', 'ＥＸＡＭＰＬＥ.com'),
        `\u00a0${email}\u00a0`,
        email.replace('example', 'EXAMPLE'),
        email.replace('example.com', 'ℯxample.com'),
      ]
      for (const form of forms) {
        const res = await login(app, { email: form, password: 'wrong horse 42' }, guesser)
        assert.equal(res.statusCode, 401, `${JSON.stringify(form)}: ${res.body}`)
      }
      const held = await login(app, { email, password: PASSWORD }, guesser)
      assert.equal(held.statusCode, 429, held.body)
      // The +tag address is another mailbox and another budget (the network's is not spent yet).
      const other = await login(app, { email: tagged, password: PASSWORD }, guesser)
      assert.equal(other.statusCode, 200, other.body)
    })

    it('answers on every editor and admin route 401 to nobody and 403 to a guest or a participant, never a 400 or a result', async () => {
      const { app } = suite
      const slug = await createCampaign(app)
      const guest = await guestToken(app)
      const joined = json(
        await register(
          app,
          { campaign: slug, email: `p_${tag()}@example.com` },
          from(network(), guest.token),
        ),
      )
      const wrong: string[] = []
      for (const manifest of app.modules.list()) {
        for (const e of manifest.endpoints) {
          if (e.auth !== 'admin' && e.auth !== 'editor') continue
          const url = e.path.replace(/:slug/g, slug).replace(/:\w+/g, '01J0000000000000000000000Z')
          for (const [who, token] of [
            ['nobody', undefined],
            ['a guest', guest.token],
            ['a participant', joined.token],
          ] as const) {
            const res = await app.inject({
              method: e.method,
              url,
              headers: from(network(), token),
              ...(e.method === 'GET' || e.method === 'DELETE' ? {} : { payload: {} }),
            })
            // The caller is checked before the input (onRequest), so never a 400 naming the schema.
            const refused = token ? 403 : 401
            if (res.statusCode !== refused) wrong.push(`${e.method} ${e.path} by ${who}: ${res.statusCode}`)
          }
        }
      }
      assert.deepEqual(wrong, [])
    })
  })
}
