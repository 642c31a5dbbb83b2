import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import type { Channel } from '../../src/modules/stream/cable/channels.js'
import { consumer, subscribe, until } from './cable-client.js'
import { cableOn, upgrade } from './cable-node.js'

/** A channel that records what its subscribers perform. */
function recording() {
  const performed: string[] = []
  const channel: Channel = {
    broadcastings: [],
    subscribed: async () => true,
    unsubscribed: async () => {},
    perform: async (_conn, _identifier, action) => {
      performed.push(action)
    },
  }
  return { channel, performed }
}

const isUnchecked = (m: any) => m?.action === 'error' && m.code === 'SERVICE_UNAVAILABLE'

describe('/cable credential checks that get no answer', () => {
  const rec = recording()
  const consumers: Consumer[] = []
  let node: Awaited<ReturnType<typeof cableOn>>
  before(async () => {
    // No periodic pass during the tests: only the commands' own checks count.
    node = await cableOn({ recheckMs: 60 * 60_000, channels: { RecordingChannel: rec.channel } })
  })
  after(async () => {
    for (const c of consumers) c.disconnect()
    await node.close()
  })

  it('turn down that one command with an error and keep the socket; a refusal closes it', async () => {
    const c = consumer(node.base, 'token-11')
    consumers.push(c)
    const sub = await subscribe(c, 'RecordingChannel')

    // The database cannot answer: the message is turned down, told why, and not performed.
    node.accounts.broken.add('token-11')
    sub.subscription.perform('first')
    await until(() => sub.received.some(isUnchecked), 'the error frame for the message')
    assert.equal(sub.received.find(isUnchecked).message.includes('try again'), true)
    assert.deepEqual(rec.performed, [])
    // A subscription asked for meanwhile is rejected, with the same error.
    const other = await subscribe(c, { channel: 'RecordingChannel', room: 2 }, { expectReject: true })
    assert.ok(other.received.length > 0 && other.received.every(isUnchecked), JSON.stringify(other.received))
    assert.equal(sub.disconnected, false, 'an unanswered check is no refusal')

    // The same socket works again once the database answers.
    node.accounts.broken.delete('token-11')
    sub.subscription.perform('second')
    await until(() => rec.performed.includes('second'), 'the next message performed')
    assert.deepEqual(rec.performed, ['second'])
    assert.equal(sub.disconnected, false)

    // A refusal (401: logged out, cut off, deleted) ends the socket as before.
    node.accounts.refused.add('token-11')
    sub.subscription.perform('third')
    await until(() => sub.disconnected, 'the refused socket closed')
    assert.deepEqual(rec.performed, ['second'])
  })

  it('refuse the upgrade with 503 (the client comes back), while a refused credential is told unauthorized', async () => {
    node.accounts.broken.add('token-12')
    const unanswered = await upgrade(`${node.ws}/cable?token=token-12`)
    assert.equal(unanswered.status, 503, 'not upgraded only to be told never to come back')
    assert.ok(!unanswered.ws)
    assert.equal(JSON.parse(unanswered.body).error.code, 'SERVICE_UNAVAILABLE')

    node.accounts.refused.add('token-13')
    const refused = await upgrade(`${node.ws}/cable?token=token-13`)
    assert.ok(refused.ws, `upgraded: ${refused.status}`)
    assert.deepEqual(refused.first, { type: 'disconnect', reason: 'unauthorized', reconnect: false })
    refused.ws.terminate()
  })
})
