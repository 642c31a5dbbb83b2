// The app's `/cable` counts its failed credential re-checks in /metrics.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { adminHeaders, buildTestApp, type TestContext } from '../helper.js'
import { metric, waitUntil } from '../realtime/client.js'
import { until } from './cable-client.js'
import { upgrade } from './cable-node.js'
import { account } from './helpers.js'

describe('/cable credential re-checks in /metrics', () => {
  let ctx: TestContext
  let ws: string
  before(async () => {
    ctx = await buildTestApp()
    await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    ws = `ws://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
  })
  after(() => ctx.close())

  it('counts the socket a token cut-off closed as refused', async () => {
    const refused = () =>
      metric(ctx.app, 'ovasabi_cable_credential_rechecks_failed_total', 'outcome="refused"')
    assert.equal(await refused(), 0)
    const editor = await account(ctx.app, 'editor')
    const answer = await upgrade(`${ws}/cable?token=${editor.token}`)
    assert.equal(answer.first?.type, 'welcome')
    let closed = false
    answer.ws!.on('close', () => {
      closed = true
    })
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/users/${editor.id}/revoke_tokens`,
      headers: adminHeaders,
    })
    assert.equal(res.statusCode, 200, res.body)
    await until(() => closed, 'the cut-off socket closed')
    await waitUntil(async () => (await refused()) === 1, 10_000, 'the refusal counted')
  })
})
