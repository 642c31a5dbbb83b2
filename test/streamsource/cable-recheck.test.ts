import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import type { FastifyBaseLogger } from 'fastify'
import { createMemoryBus } from '../../src/platform/bus/memory.js'
import { TOKENS_CUT_OFF_CHANNEL, type V1Principal } from '../../src/modules/stream/account.service.js'
import { streamsChannel } from '../../src/modules/stream/cable/channels.js'
import { createCableServer } from '../../src/modules/stream/cable/server.js'
import { unauthorized } from '../../src/modules/stream/v1.errors.js'
import { consumer, subscribe, until } from './cable-client.js'

const silent = { warn() {}, info() {}, error() {}, debug() {} } as unknown as FastifyBaseLogger

/** Credentials the test turns bad (401) or broken (a database that cannot answer) as it goes. */
function fakeAccounts() {
  const refused = new Set<string>()
  const broken = new Set<string>()
  const checks = new Map<string, number>()
  return {
    refused,
    broken,
    checks: (token: string) => checks.get(token) ?? 0,
    async authenticate(credential: string): Promise<V1Principal> {
      checks.set(credential, (checks.get(credential) ?? 0) + 1)
      if (refused.has(credential)) throw unauthorized()
      if (broken.has(credential)) throw new Error('connection terminated')
      const id = Number(credential.split('-')[1])
      return { kind: 'account', account_id: id, role: 'default', service: false, token_id: credential }
    },
  }
}

/** A `/cable` server on its own HTTP server, with the re-check period the test chooses. */
async function cableOn(recheckMs: number) {
  const accounts = fakeAccounts()
  const bus = createMemoryBus()
  const cable = createCableServer({
    accounts,
    bus,
    channels: { StreamsChannel: streamsChannel() },
    isMaintenance: () => false,
    log: silent,
    recheckMs,
  })
  const server: Server = createServer()
  cable.attach(server)
  await cable.start()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    accounts,
    bus,
    base,
    async close() {
      await cable.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

describe('/cable checks open sockets again', () => {
  const consumers: Consumer[] = []
  after(() => {
    for (const c of consumers) c.disconnect()
  })

  describe('periodically', () => {
    let node: Awaited<ReturnType<typeof cableOn>>
    before(async () => {
      node = await cableOn(50)
    })
    after(async () => node.close())

    it('closes a socket that only listens once its credential is refused; a failing check closes nothing', async () => {
      const c = consumer(node.base, 'token-1')
      const other = consumer(node.base, 'token-2')
      consumers.push(c, other)
      const sub = await subscribe(c, 'StreamsChannel')
      const otherSub = await subscribe(other, 'StreamsChannel')

      // The database cannot answer for a while: the socket stays, and is checked again later.
      node.accounts.broken.add('token-1')
      const seen = node.accounts.checks('token-1')
      await until(() => node.accounts.checks('token-1') >= seen + 3, 'checks that fail')
      assert.equal(sub.disconnected, false, 'an unanswered check is no refusal')

      node.accounts.broken.delete('token-1')
      node.accounts.refused.add('token-1')
      await until(() => sub.disconnected, 'the refused socket closed')
      // The other socket was checked too, and kept.
      const otherSeen = node.accounts.checks('token-2')
      await until(() => node.accounts.checks('token-2') > otherSeen, 'the other socket checked')
      assert.equal(otherSub.disconnected, false)
    })
  })

  describe('when a cut-off is announced on the bus', () => {
    let node: Awaited<ReturnType<typeof cableOn>>
    before(async () => {
      // No periodic pass during the test: only the announcement can close the socket.
      node = await cableOn(60 * 60_000)
    })
    after(async () => node.close())

    it("re-checks that account's sockets at once", async () => {
      const c = consumer(node.base, 'token-7')
      consumers.push(c)
      const sub = await subscribe(c, 'StreamsChannel')
      node.accounts.refused.add('token-7')
      const seen = node.accounts.checks('token-7')
      await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 8 })
      await node.bus.publish(TOKENS_CUT_OFF_CHANNEL, { account_id: 7 })
      await until(() => sub.disconnected, 'the socket of account 7 closed')
      assert.equal(node.accounts.checks('token-7'), seen + 1, "one check, for its own account's announcement")
    })
  })
})
