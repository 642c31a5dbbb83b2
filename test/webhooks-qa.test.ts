// QA pass on CRM webhooks (issue 4): the SSRF guard at registration and at send time, the routes'
// roles and bad input, and delivery against receivers that misbehave (redirects, 429, dropped
// connections, huge answers), each a real local HTTP receiver checking signatures.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { isPrivateAddress } from '../src/modules/notification/index.js'
import { lookupCached } from '../src/modules/notification/target-guard.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json } from './helper.js'
import {
  FAST_WEBHOOKS,
  receiver,
  registerWebhook,
  submitLead,
  waitFor,
  webhookApp,
  webhookMessages,
} from './webhook-fixtures.js'

const FAST = FAST_WEBHOOKS

const planted = new Map<string, number>()
/** Makes `host` resolve to `addresses` for the test (the guard's DNS cache), whatever DNS says. */
function plantDns(host: string, addresses: string[]) {
  const answer = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  // Stamped ahead of the clock, so it stays fresh through the test; a second plant for the host
  // is stamped another 31 s ahead, past the first one's freshness, so it replaces it.
  const ahead = (planted.get(host) ?? 0) + 31_000
  planted.set(host, ahead)
  void lookupCached(host, async () => answer, Date.now() + ahead)
}
const uniqueHost = (label: string) => `${label}-${Math.random().toString(36).slice(2)}.example`

describe('isPrivateAddress, IPv4 inside IPv6', () => {
  it('refuses the IPv6 forms that carry an IPv4 address, and site-local', () => {
    for (const a of [
      '::7f00:1', // IPv4-compatible ::127.0.0.1
      '::a9fe:a9fe', // ::169.254.169.254
      '::ffff:0:7f00:1', // SIIT IPv4-translated
      '64:ff9b:1::a00:1', // local-use NAT64
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2002:a9fe:a9fe::1', // 6to4 of 169.254.169.254
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      'fec0::1', // site-local
    ])
      assert.equal(isPrivateAddress(a), true, a)
    for (const a of ['2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8', '8.8.4.4'])
      assert.equal(isPrivateAddress(a), false, a)
  })
})

for (const dialect of DIALECTS) {
  describe(`webhook SSRF guard QA (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST, WEBHOOK_ALLOW_PRIVATE: 'false' })
    const register = async (slug: string, url: string) =>
      registerWebhook(suite.app, slug, { url, events: ['*'] })

    it('refuses loopback, private and metadata targets in every spelling', async () => {
      const slug = await createCampaign(suite.app)
      for (const url of [
        'http://127.0.0.1/x',
        'http://127.0.0.1./x',
        'http://[::1]/x',
        'http://[::ffff:127.0.0.1]/x',
        'http://[::127.0.0.1]/x',
        'http://[::ffff:0:127.0.0.1]/x',
        'http://[2002:7f00:1::]/x',
        'http://[fec0::1]/x',
        'http://0.0.0.0/x',
        'http://0/x',
        'http://[::]/x',
        'http://169.254.169.254/latest/meta-data',
        'http://[::ffff:169.254.169.254]/x',
        'http://2130706433/x',
        'http://017700000001/x',
        'http://0x7f.1/x',
        'http://127.1/x',
        'https://10.0.0.1/x',
        'http://localhost/x',
      ]) {
        const res = await register(slug, url)
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'WEBHOOK_TARGET_PRIVATE', url)
      }
      // `localhost.` either resolves to loopback or not at all: refused either way.
      const dotted = await register(slug, 'http://localhost./x')
      assert.equal(dotted.statusCode, 422, dotted.body)
      assert.match(json(dotted).error.code, /^WEBHOOK_(TARGET_PRIVATE|HOST_UNRESOLVED)$/)
      for (const url of [
        'ftp://example.com/x',
        'file:///etc/passwd',
        'gopher://x',
        `https://a.example/${'a'.repeat(2100)}`,
      ]) {
        const res = await register(slug, url)
        assert.equal(res.statusCode, 400, url)
        assert.equal(json(res).error.code, 'VALIDATION_FAILED', url)
      }
      const list = await suite.app.inject({
        method: 'GET',
        url: `/api/campaign/${slug}/webhooks`,
        headers: adminHeaders,
      })
      assert.deepEqual(json(list).webhooks, [], 'nothing was registered')
    })

    it('refuses a DNS name that resolves to a private address, even beside a public one', async () => {
      const slug = await createCampaign(suite.app)
      const inside = uniqueHost('inside')
      plantDns(inside, ['10.20.30.40'])
      const mixed = uniqueHost('mixed')
      plantDns(mixed, ['93.184.216.34', '::1'])
      for (const host of [inside, mixed]) {
        const res = await register(slug, `https://${host}/hook`)
        assert.equal(res.statusCode, 422, res.body)
        assert.equal(json(res).error.code, 'WEBHOOK_TARGET_PRIVATE')
      }
      const outside = uniqueHost('outside')
      plantDns(outside, ['93.184.216.34'])
      assert.equal((await register(slug, `https://${outside}/hook`)).statusCode, 201)
    })

    it('refuses URLs with credentials, at registration and when moved', async () => {
      const slug = await createCampaign(suite.app)
      const host = uniqueHost('creds')
      plantDns(host, ['93.184.216.34'])
      for (const url of [
        `https://user:secret@${host}/hook`,
        `https://user@${host}/hook`,
        `https://:pw@${host}/x`,
      ]) {
        const res = await register(slug, url)
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
        assert.equal(json(res).error.code, 'WEBHOOK_URL_INVALID', url)
        assert.equal(res.body.includes('secret'), false, 'the password is not echoed')
      }
      const created = await register(slug, `https://${host}/hook`)
      assert.equal(created.statusCode, 201, created.body)
      const moved = await suite.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}/webhooks/${json(created).id}`,
        headers: adminHeaders,
        payload: { url: `https://admin:hunter2@${host}/hook` },
      })
      assert.equal(moved.statusCode, 422, moved.body)
      assert.equal(json(moved).error.code, 'WEBHOOK_URL_INVALID')
    })

    it('checks the address again when sending: a name rebound to loopback gets nothing', async () => {
      const slug = await createCampaign(suite.app)
      const host = uniqueHost('rebind')
      plantDns(host, ['93.184.216.34'])
      const r = await receiver()
      try {
        const created = await register(slug, `http://${host}:${new URL(r.url).port}/hook`)
        assert.equal(created.statusCode, 201, created.body)
        plantDns(host, ['127.0.0.1'])
        const guest = await guestToken(suite.app)
        assert.equal((await submitLead(suite.app, guest.token, slug, 'rebind@example.com')).statusCode, 200)
        const failed = await waitFor(async () => {
          const m = await webhookMessages(suite.app, slug, json(created).id)
          return m[0]?.status === 'failed' && m[0]
        }, 'the refused message')
        assert.match(failed.last_error, /private or loopback/)
        assert.equal(r.got.length, 0)
      } finally {
        await r.close()
      }
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`webhook routes and delivery QA (${dialect})`, () => {
    const suite = webhookApp(dialect, { ...FAST, WEBHOOK_ALLOW_PRIVATE: 'true' })
    const { servers } = suite
    let guest: { token: string }
    before(async () => {
      guest = await guestToken(suite.app)
    })
    const submit = (slug: string) =>
      submitLead(suite.app, guest.token, slug, `p${Math.random().toString(36).slice(2)}@example.com`)
    const deliveries = async (slug: string, id: string) =>
      json(
        await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks/${id}/deliveries`,
          headers: adminHeaders,
        }),
      ).deliveries as any[]

    it('lets only admins near an endpoint, and only through its own campaign', async () => {
      const { slug, id } = await suite.endpoint()
      const other = await createCampaign(suite.app)
      const editor = {
        'x-api-key': (await suite.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })).key,
      }
      const visitor = { authorization: `Bearer ${guest.token}` }
      const msg = 'msg_01HZZZZZZZZZZZZZZZZZZZZZZZ'
      const routes: Array<[string, string, unknown?]> = [
        ['GET', ''],
        ['POST', '', { url: 'http://127.0.0.1:9/x', events: ['*'] }],
        ['PATCH', `/${id}`, { description: 'x' }],
        ['POST', `/${id}/rotate`],
        ['POST', `/${id}/enable`],
        ['GET', `/${id}/deliveries`],
        ['GET', `/${id}/messages`],
        ['POST', `/${id}/messages/${msg}/replay`],
        ['POST', `/${id}/test`],
        ['DELETE', `/${id}`],
      ]
      for (const [method, path, payload] of routes) {
        const call = (campaign: string, headers: Record<string, string>) =>
          suite.app.inject({
            method: method as 'GET',
            url: `/api/campaign/${campaign}/webhooks${path}`,
            headers,
            ...(payload ? { payload: payload as object } : {}),
          })
        assert.equal((await call(slug, {})).statusCode, 401, `${method} ${path} anonymous`)
        assert.equal((await call(slug, visitor)).statusCode, 403, `${method} ${path} visitor`)
        assert.equal((await call(slug, editor)).statusCode, 403, `${method} ${path} editor`)
        if (path !== '') {
          const elsewhere = await call(other, adminHeaders)
          assert.equal(elsewhere.statusCode, 404, `${method} ${path} through another campaign`)
          assert.equal(json(elsewhere).error.code, 'WEBHOOK_NOT_FOUND')
        }
      }
      // Still there, untouched, for its own campaign's admin.
      const list = json(
        await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
      )
      assert.deepEqual(
        list.webhooks.map((w: any) => [w.id, w.description]),
        [[id, '']],
      )
    })

    it('answers bad events, paging and rotation input with 400', async () => {
      const { slug, id } = await suite.endpoint()
      for (const events of [[], ['lead.created', 'lead.created'], ['lead.deleted'], 'lead.created', [1]]) {
        const res = await registerWebhook(suite.app, slug, { url: 'http://127.0.0.1:9/x', events })
        assert.equal(res.statusCode, 400, JSON.stringify(events))
        assert.equal(json(res).error.code, 'VALIDATION_FAILED')
      }
      const base = `/api/campaign/${slug}/webhooks/${id}`
      for (const url of [
        `${base}/deliveries?limit=0`,
        `${base}/deliveries?limit=501`,
        `${base}/deliveries?limit=abc`,
        `${base}/deliveries?before=0`,
        `${base}/deliveries?before=-1`,
        `${base}/deliveries?before=abc`,
        `${base}/deliveries?before=9007199254740992`,
        `${base}/messages?limit=0`,
        `${base}/messages?status=bogus`,
        `${base}/messages?before=${'m'.repeat(65)}`,
      ]) {
        const res = await suite.app.inject({ method: 'GET', url, headers: adminHeaders })
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`)
      }
      for (const q of [
        'grace_seconds=abc',
        'grace_seconds=-1',
        'grace_seconds=604801',
        'grace_seconds=1.5',
      ]) {
        const res = await suite.app.inject({
          method: 'POST',
          url: `${base}/rotate?${q}`,
          headers: adminHeaders,
        })
        assert.equal(res.statusCode, 400, q)
      }
      const badId = await suite.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/webhooks/wh_nope`,
        headers: adminHeaders,
      })
      assert.equal(badId.statusCode, 400)
    })

    it('signs with the previous secret only while its grace lasts, and cannot replay for a deleted endpoint', async () => {
      const { slug, r, id, secret } = await suite.endpoint()
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const post = (url: string) => suite.app.inject({ method: 'POST', url, headers: adminHeaders })
      const rotated = json(await post(`${base}/rotate?grace_seconds=3600`))
      r.setSecret(rotated.secret)
      assert.equal((await post(`${base}/test`)).statusCode, 202)
      const during = await waitFor(() => r.got[0], 'a test during the grace period')
      assert.equal(during.verified, true)
      assert.equal(during.signature.split(' ').length, 2, 'both secrets sign')
      // The grace period ends (as if an hour went by): the old secret no longer signs.
      await suite.app.platform.database.db
        .updateTable('service_notification_webhook')
        .set({ previous_secret_expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', id)
        .execute()
      assert.equal((await post(`${base}/test`)).statusCode, 202)
      const later = await waitFor(() => r.got[1], 'a test after the grace period')
      assert.equal(later.verified, true)
      assert.equal(later.signature.split(' ').length, 1, 'only the new secret signs')
      assert.equal(later.signature.includes(' '), false)
      assert.notEqual(rotated.secret, secret)
      const view = json(
        await suite.app.inject({
          method: 'GET',
          url: `/api/campaign/${slug}/webhooks`,
          headers: adminHeaders,
        }),
      )
      assert.equal(view.webhooks[0].previous_secret_expires_at, null)

      const del = await suite.app.inject({ method: 'DELETE', url: base, headers: adminHeaders })
      assert.equal(del.statusCode, 204)
      const replay = await post(`${base}/messages/${later.id}/replay`)
      assert.equal(replay.statusCode, 404)
      assert.equal(json(replay).error.code, 'WEBHOOK_NOT_FOUND')
      assert.equal(
        (await suite.app.inject({ method: 'DELETE', url: base, headers: adminHeaders })).statusCode,
        404,
      )
    })

    it('never follows a redirect: the target it names gets nothing', async () => {
      const elsewhere = await receiver()
      servers.push(elsewhere)
      const { slug, r, id } = await suite.endpoint((_n, _req, res) => {
        res.writeHead(307, { location: elsewhere.url }).end()
      })
      await submit(slug)
      const log = await waitFor(async () => {
        const d = await deliveries(slug, id)
        return d.length >= 2 && d
      }, 'two attempts')
      assert.ok(
        log.every((d: any) => d.status_code === 307),
        JSON.stringify(log),
      )
      assert.ok(r.got.every((g) => g.verified))
      assert.equal(elsewhere.got.length, 0)
    })

    it('waits for Retry-After on a 429, given as seconds or as an HTTP date', async () => {
      const hour = 3600_000
      for (const retryAfter of ['3600', () => new Date(Date.now() + hour).toUTCString()]) {
        const { slug, r, id } = await suite.endpoint((_n, _req, res) => {
          res
            .writeHead(429, { 'retry-after': typeof retryAfter === 'string' ? retryAfter : retryAfter() })
            .end()
        })
        const sent = Date.now()
        await submit(slug)
        const message = await waitFor(async () => {
          const m = (await webhookMessages(suite.app, slug, id))[0]
          return m?.status === 'pending' && m.attempts === 1 && m.last_error && m
        }, 'the message waiting after a 429')
        assert.equal(message.last_error, 'HTTP 429')
        // At least the hour asked for, minus the second an HTTP date cannot say.
        assert.ok(Date.parse(message.next_attempt_at) >= sent + hour - 2_000, message.next_attempt_at)
        assert.equal(r.got.length, 1)
      }
    })

    it('retries after a receiver drops the connection, with the same webhook-id', async () => {
      const { slug, r, id } = await suite.endpoint((n, req, res) => {
        if (n === 1) {
          ;(res as any).held = true
          req.socket.destroy()
        }
      })
      await submit(slug)
      const log = await waitFor(async () => {
        const d = await deliveries(slug, id)
        return d.some((x: any) => x.message_status === 'delivered') && d.length >= 2 && d
      }, 'a delivery after a dropped connection')
      const first = log[log.length - 1]
      assert.equal(first.status_code, null)
      assert.ok(first.error, 'the dropped attempt is logged with its error')
      assert.equal(new Set(r.got.map((g) => g.id)).size, 1)
      assert.ok(r.got.every((g) => g.verified))
    })

    it('reads no more than a bounded part of a huge answer, and keeps delivering', async () => {
      const chunk = Buffer.alloc(1 << 20, 97)
      const { slug, r, id } = await suite.endpoint((_n, _req, res) => {
        ;(res as any).held = true
        res.writeHead(200, { 'content-type': 'text/plain' })
        // 256 MiB, more than anything should hold for a receipt; the sender hangs up early.
        let left = 256
        const pump = () => {
          while (left-- > 0) if (!res.write(chunk)) return void res.once('drain', pump)
          res.end()
        }
        res.on('error', () => {})
        pump()
      })
      await submit(slug)
      await submit(slug)
      const log = await waitFor(async () => {
        const d = await deliveries(slug, id)
        return d.filter((x: any) => x.message_status === 'delivered').length === 2 && d
      }, 'both messages delivered')
      assert.ok(log.every((d: any) => d.status_code === 200))
      assert.equal(r.got.length, 2, 'each sent once')
      assert.ok(r.got.every((g) => g.verified))
    })
  })
}
