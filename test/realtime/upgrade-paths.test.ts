import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, DIALECTS, type TestContext } from '../helper.js'
import { baseUrl, connect, metric } from './client.js'

/** Open a WebSocket and report how the server answered: the HTTP status, or 101. */
function answer(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`${url}: no answer within 3 s (the upgrade hangs)`))
    }, 3000)
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    ws.once('upgrade', () => {
      clearTimeout(timer)
      ws.terminate()
      resolve({ status: 101, body: '' })
    })
    ws.once('error', () => {})
  })
}

for (const dialect of DIALECTS) {
  describe(`upgrade paths (${dialect})`, () => {
    let ctx: TestContext
    let url: string

    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      url = baseUrl(ctx.app)
    })
    after(() => ctx.close())

    it('refuses upgrades on paths nobody owns with 404 before the upgrade', async () => {
      const before = await metric(ctx.app, 'ovasabi_ws_upgrades_refused_total', 'code="NOT_FOUND"')
      for (const path of ['/', '/nope', '/api/campaign', '/wsx/a/b', '/cable/extra?x=1']) {
        const r = await answer(`${url}${path}`)
        assert.equal(r.status, 404, path)
        assert.equal(JSON.parse(r.body).error.code, 'NOT_FOUND', path)
      }
      const after = await metric(ctx.app, 'ovasabi_ws_upgrades_refused_total', 'code="NOT_FOUND"')
      assert.equal(after - before, 5)
    })

    it('leaves /cable to its own listener and still serves /ws/', async () => {
      // The cable server upgrades (and then says why it closes an unauthenticated socket).
      assert.equal((await answer(`${url}/cable`)).status, 101)
      const slug = await createCampaign(ctx.app)
      const { token } = await ctx.app.platform.tokens.issueGuest()
      const c = await connect(`${url}/ws/${slug}/guest?token=${token}`)
      assert.equal(c.frames[0].type, 'connected')
      c.close()
    })
  })
}
