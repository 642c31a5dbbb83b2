import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { buildTestApp, createCampaign, type TestContext } from '../helper.js'
import { baseUrl, metric, TestClient, waitUntil } from './client.js'

// Heartbeats are written as pre-framed pings: a live client answers them and stays, a client
// that never answers is cut (1006). PGlite only: this is the gateway, not the database.
describe('realtime heartbeats', () => {
  let ctx: TestContext
  let url: string
  const sockets: WebSocket[] = []
  const open = async (path: string, autoPong: boolean) => {
    const ws = new WebSocket(`${url}${path}`, { autoPong })
    sockets.push(ws)
    const client = new TestClient(ws)
    await client.next((f) => f.type === 'connected')
    return client
  }

  before(async () => {
    ctx = await buildTestApp({ env: { WS_HEARTBEAT_MS: '1000' } })
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    url = baseUrl(ctx.app)
  })
  after(async () => {
    for (const ws of sockets) ws.terminate()
    await ctx.close()
  })

  it('pings every socket, keeps the ones that answer and cuts the ones that do not', async () => {
    const slug = await createCampaign(ctx.app)
    const token = async () => (await ctx.app.platform.tokens.issueGuest()).token
    const live = await open(`/ws/${slug}/guest?token=${await token()}`, true)
    const dead = await open(`/ws/${slug}/guest?token=${await token()}`, false)
    let pings = 0
    live.ws.on('ping', () => pings++)
    const before = await metric(ctx.app, 'ovasabi_ws_closes_total', 'code="1006"')
    await waitUntil(() => dead.closed !== undefined, 10_000, 'the silent socket to be cut')
    assert.ok(pings >= 1, 'the live socket was pinged')
    assert.equal(live.closed, undefined, 'the live socket stays open')
    await waitUntil(
      async () => (await metric(ctx.app, 'ovasabi_ws_closes_total', 'code="1006"')) === before + 1,
      5000,
      'the cut counted as 1006',
    )
  })
})
