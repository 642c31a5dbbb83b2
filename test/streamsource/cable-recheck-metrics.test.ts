// `/cable`'s credential re-checks are counted as `/ws`'s are:
// `ovasabi_cable_credential_rechecks_failed_total{outcome="refused"|"error"}`.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { TOKENS_CUT_OFF_CHANNEL } from '../../src/modules/stream/account.service.js'
import { createCableMetrics } from '../../src/modules/stream/cable/metrics.js'
import { registryMetric, waitUntil } from '../realtime/client.js'
import { until } from './cable-client.js'
import { cableOn, listeningSocket } from './cable-node.js'

/** The counter as `/metrics` shows it (the registry's exposition text). */
const failed = (registry: Registry, outcome: 'refused' | 'error') =>
  registryMetric(registry, 'ovasabi_cable_credential_rechecks_failed_total', `outcome="${outcome}"`)

describe('/cable counts failed credential re-checks', () => {
  const sockets: WebSocket[] = []
  after(() => {
    for (const ws of sockets) ws.terminate()
  })

  it('counts unanswered checks (sockets kept) and refusals (socket closed) by outcome', async () => {
    const registry = new Registry()
    const node = await cableOn({ recheckMs: 50, metrics: createCableMetrics(registry) })
    try {
      const a = await listeningSocket(node.base, 'token-1')
      const b = await listeningSocket(node.base, 'token-2')
      sockets.push(a.ws, b.ws)

      // The database cannot answer for token-1: every pass counts one error; nothing closes.
      const before = node.accounts.checks('token-1')
      node.accounts.broken.add('token-1')
      await until(() => node.accounts.checks('token-1') >= before + 3, 'checks that fail')
      await waitUntil(async () => (await failed(registry, 'error')) >= 2, 10_000, 'errors counted')
      assert.equal(await failed(registry, 'refused'), 0)
      assert.equal(a.closed(), false, 'an unanswered check is no refusal')

      node.accounts.broken.delete('token-1')
      node.accounts.refused.add('token-1')
      await until(a.closed, 'the refused socket closed')
      const refused = async () => failed(registry, 'refused')
      await waitUntil(async () => (await refused()) === 1, 10_000, 'the refusal counted')
      // Later passes skip the closed socket: counted once; the other socket is not counted.
      const seen = node.accounts.checks('token-2')
      await until(() => node.accounts.checks('token-2') >= seen + 2, 'more passes')
      assert.equal(await refused(), 1)
      assert.equal(b.closed(), false)
    } finally {
      await node.close()
    }
  })

  it('counts a refusal found when a cut-off is announced', async () => {
    const registry = new Registry()
    // No periodic pass during the test: only the announcement re-checks.
    const node = await cableOn({ recheckMs: 60 * 60_000, metrics: createCableMetrics(registry) })
    try {
      const s = await listeningSocket(node.base, 'token-7')
      sockets.push(s.ws)
      node.accounts.refused.add('token-7')
      await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 7 })
      await until(s.closed, 'the socket of account 7 closed')
      await waitUntil(async () => (await failed(registry, 'refused')) === 1, 10_000, 'the refusal counted')
      assert.equal(await failed(registry, 'error'), 0)
    } finally {
      await node.close()
    }
  })
})
