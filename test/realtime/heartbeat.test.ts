import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import WebSocket from 'ws'
import { createCampaign } from '../helper.js'
import { metric, TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

// Heartbeats are written as pre-framed pings: a live client answers them and stays, a client
// that never answers is cut (1006). PGlite only: this is the gateway, not the database.
describe('realtime heartbeats', () => {
  const suite = realtimeSuite({ env: { WS_HEARTBEAT_MS: '1000' } })
  /** A guest socket on `path`, answering pings when `autoPong` (as a live client does). */
  const open = async (path: string, autoPong: boolean) => {
    const client = suite.keep(new TestClient(new WebSocket(`${suite.url}${path}`, { autoPong })))
    await client.next((f) => f.type === 'connected')
    return client
  }

  it('pings every socket, keeps the ones that answer and cuts the ones that do not', async () => {
    const slug = await createCampaign(suite.app)
    const token = async () => (await suite.app.platform.tokens.issueGuest()).token
    const live = await open(`/ws/${slug}/guest?token=${await token()}`, true)
    const dead = await open(`/ws/${slug}/guest?token=${await token()}`, false)
    let pings = 0
    live.ws.on('ping', () => pings++)
    const before = await metric(suite.app, 'ovasabi_ws_closes_total', 'code="1006"')
    await waitUntil(() => dead.closed !== undefined, 10_000, 'the silent socket to be cut')
    assert.ok(pings >= 1, 'the live socket was pinged')
    assert.equal(live.closed, undefined, 'the live socket stays open')
    await waitUntil(
      async () => (await metric(suite.app, 'ovasabi_ws_closes_total', 'code="1006"')) === before + 1,
      5000,
      'the cut counted as 1006',
    )
  })
})
