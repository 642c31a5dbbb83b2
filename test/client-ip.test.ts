import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { describe, it } from 'node:test'
import { loadConfig } from '../src/config.js'
import { clientIp, compileTrustProxy } from '../src/platform/http/client-ip.js'
import { buildTestApp, createCampaign, guestToken } from './helper.js'
import { baseUrl, connect } from './realtime/client.js'

const request = (remoteAddress: string, forwarded?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
  }) as unknown as IncomingMessage

describe('client address (TRUST_PROXY)', () => {
  it('takes X-Forwarded-For only from trusted peers', () => {
    const spoofed = request('203.0.113.9', '10.1.2.3')
    assert.equal(clientIp(spoofed, compileTrustProxy('false')), '203.0.113.9')
    assert.equal(clientIp(spoofed, compileTrustProxy('true')), '10.1.2.3')
    const viaProxy = compileTrustProxy('10.0.0.0/8, loopback')
    assert.equal(clientIp(request('10.0.0.5', '198.51.100.7'), viaProxy), '198.51.100.7')
    assert.equal(clientIp(request('127.0.0.1', '198.51.100.7'), viaProxy), '198.51.100.7')
    // A client naming its own address through an untrusted hop is not believed past it.
    assert.equal(clientIp(request('10.0.0.5', '1.1.1.1, 203.0.113.9'), viaProxy), '203.0.113.9')
    assert.equal(clientIp(request('203.0.113.9', '198.51.100.7'), viaProxy), '203.0.113.9')
  })

  it('refuses a TRUST_PROXY that is no address', () => {
    assert.throws(() => loadConfig({ DATA_DIR: '/tmp', TRUST_PROXY: 'nonsense' }), /TRUST_PROXY/)
    assert.doesNotThrow(() => loadConfig({ DATA_DIR: '/tmp', TRUST_PROXY: '10.0.0.0/8,loopback' }))
  })

  for (const [setting, limited] of [
    ['false', true],
    ['127.0.0.1', false],
  ] as const) {
    it(`${limited ? 'ignores' : 'honours'} X-Forwarded-For with TRUST_PROXY=${setting} (the per-IP login limit)`, async () => {
      const ctx = await buildTestApp({ env: { TRUST_PROXY: setting } })
      try {
        const statuses: number[] = []
        // 31 attempts, each "from" another address: one client behind them all, or 31 clients.
        for (let i = 0; i < 31; i++) {
          const res = await ctx.app.inject({
            method: 'POST',
            url: '/api/auth/login',
            headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
            payload: { email: `nobody${i}@example.com`, password: 'not the password 1' },
          })
          statuses.push(res.statusCode)
        }
        assert.equal(statuses.at(-1), limited ? 429 : 401, statuses.join(' '))
      } finally {
        await ctx.close()
      }
    })
  }

  for (const [setting, limited] of [
    ['false', true],
    ['true', false],
  ] as const) {
    it(`${limited ? 'ignores' : 'honours'} X-Forwarded-For on WebSocket upgrades too (TRUST_PROXY=${setting})`, async () => {
      const ctx = await buildTestApp({ env: { TRUST_PROXY: setting } })
      const clients: Array<Awaited<ReturnType<typeof connect>>> = []
      try {
        await ctx.app.listen({ port: 0, host: '127.0.0.1' })
        // One quote per address: the second socket's is refused only if both share one address.
        const slug = await createCampaign(ctx.app, {
          metadata: { custom_rules: { quote_rate_limit: { max: 1, window_seconds: 600 } } },
        })
        const acks = []
        for (const [i, from] of ['198.51.100.1', '198.51.100.2'].entries()) {
          const { token } = await guestToken(ctx.app)
          const c = await connect(`${baseUrl(ctx.app)}/ws/${slug}/guest?token=${token}`, {
            headers: { 'x-forwarded-for': from },
          })
          clients.push(c)
          c.send({
            type: 'campaign_event',
            event: 'quote.submit',
            payload: { name: 'Lead', email: `lead${i}@example.com` },
            request_id: `q${i}`,
          })
          acks.push(await c.next((f) => f.type === 'update_ack' && f.request_id === `q${i}`))
        }
        assert.deepEqual(
          acks.map((a) => a.status),
          limited ? ['success', 'error'] : ['success', 'success'],
          JSON.stringify(acks),
        )
      } finally {
        for (const c of clients) c.close()
        await ctx.close()
      }
    })
  }
})
