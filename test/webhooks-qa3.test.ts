// Third QA pass on CRM webhooks: an admin ends the grace period of rotated-out secrets early
// (`DELETE …/webhooks/{id}/secrets/previous`), for a receiver that has switched over or a secret
// that leaked after the rotation; messages already queued are then signed with the current
// secret alone.
import assert from 'node:assert/strict'
import type http from 'node:http'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json } from './helper.js'
import { FAST_WEBHOOKS, verifies, waitFor, webhookApp } from './webhook-fixtures.js'

const FAST = { ...FAST_WEBHOOKS, WEBHOOK_TIMEOUT_MS: '5000' }

for (const dialect of DIALECTS) {
  describe(`ending a rotation's grace period early (${dialect})`, () => {
    const suite = webhookApp(dialect, FAST)
    const call = (method: 'POST' | 'DELETE' | 'GET', url: string, headers = adminHeaders) =>
      suite.app.inject({ method, url, headers })
    const endGrace = (slug: string, id: string, headers = adminHeaders) =>
      call('DELETE', `/api/campaign/${slug}/webhooks/${id}/secrets/previous`, headers)
    const rotate = async (slug: string, id: string, grace = 3600) =>
      json(await call('POST', `/api/campaign/${slug}/webhooks/${id}/rotate?grace_seconds=${grace}`))
    /** Which of `secrets` verify what the receiver got. */
    const verifiedBy = (
      got: { id: string; timestamp: number; body: unknown; signature: string },
      secrets: string[],
    ) =>
      secrets.map((s) => verifies(s, got.id, String(got.timestamp), JSON.stringify(got.body), got.signature))

    it('stops every previous secret at once; the current one keeps signing', async () => {
      const { slug, r, id, secret: first } = await suite.endpoint()
      const second = (await rotate(slug, id)).secret
      const third = (await rotate(slug, id, 600)).secret
      r.setSecret(third)
      const ended = await endGrace(slug, id)
      assert.equal(ended.statusCode, 200, ended.body)
      const view = json(ended)
      assert.deepEqual(view.previous_secrets, [])
      assert.equal(view.previous_secret_expires_at, null)
      assert.equal(view.id, id)
      // No secret in the answer: it only ends grace periods.
      assert.equal(JSON.stringify(view).includes('whsec_'), false)
      const listed = json(await call('GET', `/api/campaign/${slug}/webhooks`)).webhooks[0]
      assert.deepEqual(listed.previous_secrets, [])

      assert.equal((await call('POST', `/api/campaign/${slug}/webhooks/${id}/test`)).statusCode, 202)
      const got = await waitFor(() => r.got[0], 'the test message')
      assert.equal(got.verified, true)
      assert.equal(got.signature.split(' ').length, 1, got.signature)
      assert.deepEqual(verifiedBy(got, [first, second, third]), [false, false, true])

      // Idempotent: nothing left to end is no error.
      const again = await endGrace(slug, id)
      assert.equal(again.statusCode, 200)
      assert.deepEqual(json(again).previous_secrets, [])
    })

    it('does not bring ended secrets back at the next rotation', async () => {
      const { slug, r, id, secret: first } = await suite.endpoint()
      const second = (await rotate(slug, id)).secret
      assert.equal((await endGrace(slug, id)).statusCode, 200)
      const rotated = await rotate(slug, id)
      r.setSecret(rotated.secret)
      assert.equal(rotated.webhook.previous_secrets.length, 1)
      assert.equal((await call('POST', `/api/campaign/${slug}/webhooks/${id}/test`)).statusCode, 202)
      const got = await waitFor(() => r.got[0], 'the test message')
      assert.deepEqual(verifiedBy(got, [first, second, rotated.secret]), [false, true, true])
    })

    it('a message being retried is signed with the current secret alone after the grace ends', async () => {
      let release: (() => void) | undefined
      const { slug, r, id } = await suite.endpoint((n, _req, res) => {
        if (n !== 1) return // The first attempt is held open until the grace period has ended, then refused.
        ;(res as http.ServerResponse & { held?: boolean }).held = true
        release = () => res.writeHead(500).end()
      })
      const { secret: current } = await rotate(slug, id)
      r.setSecret(current)
      assert.equal((await call('POST', `/api/campaign/${slug}/webhooks/${id}/test`)).statusCode, 202)
      const first = await waitFor(() => r.got[0], 'the first attempt')
      assert.equal(first.signature.split(' ').length, 2, 'signed by both secrets during the grace period')
      assert.equal((await endGrace(slug, id)).statusCode, 200)
      release!()
      const retry = await waitFor(() => r.got[1], 'the retry')
      assert.equal(retry.id, first.id, 'the same webhook-id on the retry')
      assert.equal(retry.verified, true)
      assert.equal(retry.signature.split(' ').length, 1, retry.signature)
    })

    it('is for admins of the endpoint’s own campaign only, and listed in the OpenAPI document', async () => {
      const { slug, id } = await suite.endpoint()
      await rotate(slug, id)
      const other = await createCampaign(suite.app)
      const guest = await guestToken(suite.app)
      const editor = {
        'x-api-key': (await suite.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })).key,
      }
      assert.equal((await endGrace(slug, id, {} as typeof adminHeaders)).statusCode, 401)
      const visitor = { authorization: `Bearer ${guest.token}` } as unknown as typeof adminHeaders
      assert.equal((await endGrace(slug, id, visitor)).statusCode, 403)
      assert.equal((await endGrace(slug, id, editor)).statusCode, 403)
      const elsewhere = await endGrace(other, id)
      assert.equal(elsewhere.statusCode, 404)
      assert.equal(json(elsewhere).error.code, 'WEBHOOK_NOT_FOUND')
      const unknown = await endGrace(slug, 'wh_01HZZZZZZZZZZZZZZZZZZZZZZZ')
      assert.equal(unknown.statusCode, 404)
      // Refused calls changed nothing.
      const listed = json(await call('GET', `/api/campaign/${slug}/webhooks`)).webhooks[0]
      assert.equal(listed.previous_secrets.length, 1)

      const doc = json(await call('GET', '/docs/openapi.json'))
      const route = doc.paths['/api/campaign/{slug}/webhooks/{id}/secrets/previous']
      assert.equal(route?.delete?.operationId, 'endWebhookSecretGrace')
    })
  })
}

for (const dialect of DIALECTS) {
  describe(`re-enabling an endpoint sends what waits for it (${dialect})`, () => {
    // One failure opens the circuit, and a retry would wait an hour.
    const suite = webhookApp(dialect, {
      ...FAST,
      WEBHOOK_RETRY_BASE_MS: '3600000',
      WEBHOOK_CIRCUIT_THRESHOLD: '1',
    })

    it('a message backing off after the circuit opened goes at once when an admin enables the endpoint', async () => {
      const app = suite.app
      const { r, slug, id } = await suite.endpoint((n, _req, res) => {
        if (n === 1) res.writeHead(503).end()
      })
      const base = `/api/campaign/${slug}/webhooks/${id}`
      const call = (method: 'GET' | 'POST', url: string) => app.inject({ method, url, headers: adminHeaders })
      assert.equal((await call('POST', `${base}/test`)).statusCode, 202)
      const first = await waitFor(() => r.got[0], 'the first attempt')
      const waiting = await waitFor(async () => {
        const m = json(await call('GET', `${base}/messages`)).messages[0]
        return m?.status === 'pending' && m.attempts === 1 ? m : undefined
      }, 'the retry scheduled')
      assert.ok(Date.parse(waiting.next_attempt_at) > Date.now() + 60_000, waiting.next_attempt_at)
      assert.equal(json(await call('GET', `/api/campaign/${slug}/webhooks`)).webhooks[0].circuit, 'open')

      const enabled = await call('POST', `${base}/enable`)
      assert.equal(enabled.statusCode, 200, enabled.body)
      assert.equal(json(enabled).circuit, 'closed')
      const retry = await waitFor(() => r.got[1], 'the retry, sent on enable')
      assert.equal(retry.id, first.id, 'the same webhook-id')
      assert.equal(retry.verified, true)
      await waitFor(async () => {
        const m = json(await call('GET', `${base}/messages`)).messages[0]
        return m?.status === 'delivered'
      }, 'the message delivered')
    })

    it('every webhook route documents the 400 an ill-formed id or query gets', async () => {
      const app = suite.app
      const slug = await createCampaign(app)
      const doc = json(await app.inject({ method: 'GET', url: '/docs/openapi.json' }))
      const operations = Object.entries(doc.paths as Record<string, Record<string, any>>)
        .filter(([path]) => path.startsWith('/api/campaign/{slug}/webhooks'))
        .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
        .filter(({ method }) => method !== 'head')
      assert.ok(operations.length >= 11, String(operations.length))
      for (const { path, method, op } of operations) {
        assert.ok(op.responses?.['400'], `${method.toUpperCase()} ${path} documents 400`)
      }
      for (const [method, path] of [
        ['DELETE', '/wh_bad'],
        ['POST', '/wh_bad/rotate'],
        ['POST', '/wh_bad/enable'],
        ['POST', '/wh_bad/test'],
        ['DELETE', '/wh_bad/secrets/previous'],
        ['POST', '/wh_01HZZZZZZZZZZZZZZZZZZZZZZZ/messages/bad/replay'],
      ] as const) {
        const res = await app.inject({
          method,
          url: `/api/campaign/${slug}/webhooks${path}`,
          headers: adminHeaders,
        })
        assert.equal(res.statusCode, 400, `${method} ${path}: ${res.body}`)
      }
    })
  })
}
