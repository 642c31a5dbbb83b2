// The app's `/cable` counts its failed credential re-checks in /metrics.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders } from '../helper.js'
import { metric, waitUntil } from '../realtime/client.js'
import { realtimeSuite } from '../realtime/fixtures.js'
import { until } from './cable-client.js'
import { listeningSocket } from './cable-node.js'
import { account } from './helpers.js'

describe('/cable credential re-checks in /metrics', () => {
  const live = realtimeSuite()

  it('counts the socket a token cut-off closed as refused', async () => {
    const refused = () =>
      metric(live.app, 'ovasabi_cable_credential_rechecks_failed_total', 'outcome="refused"')
    assert.equal(await refused(), 0)
    const editor = await account(live.app, 'editor')
    const socket = await listeningSocket(live.url, editor.token)
    const res = await live.app.inject({
      method: 'POST',
      url: `/api/v1/users/${editor.id}/revoke_tokens`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
    await until(socket.closed, 'the cut-off socket closed')
    await waitUntil(async () => (await refused()) === 1, 10_000, 'the refusal counted')
  })
})
