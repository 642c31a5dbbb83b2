import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { TOKENS_CUT_OFF_CHANNEL } from '../../src/modules/stream/account.service.js'
import { consumer, subscribe, until } from './cable-client.js'
import { cableOn as cableWith } from './cable-node.js'

/** A `/cable` server on its own HTTP server, with the re-check period the test chooses. */
const cableOn = (recheckMs: number) => cableWith({ recheckMs })

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
