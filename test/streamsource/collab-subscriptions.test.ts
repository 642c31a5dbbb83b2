import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DIALECTS, json, type TestContext } from '../helper.js'
import { cableApp, subscribe, type TestSubscription, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

const CHANNEL = 'CollaborativeStreamsChannel'

/**
 * One socket may hold several `CollaborativeStreamsChannel` subscriptions (a page per stream, each
 * its own identifier). Ending one of them releases only the cell locks taken through it: the
 * others keep theirs, and the socket stays present. Its going away releases the rest.
 */
for (const dialect of DIALECTS) {
  describe(`CollaborativeStreamsChannel subscriptions of one socket (${dialect})`, () => {
    let live: Awaited<ReturnType<typeof cableApp>>
    let ctx: TestContext
    let owner: TestAccount
    let rival: TestAccount

    before(async () => {
      live = await cableApp(dialect)
      ctx = live.ctx
      owner = await account(ctx.app, 'editor')
      // An admin may change any stream: only the owner's locks stand in its way.
      rival = await account(ctx.app, 'admin')
    })
    after(() => live.close())

    const ownersStream = async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: owner.headers,
        payload: { link: uniqueLink(), title: 'Shared' },
      })
      assert.equal(created.statusCode, 201, created.body)
      const id: number = json(created).stream.id
      return { id, cell: `stream_${id}_title` }
    }

    /** `s` locks `cell` and waits for its own answer: the lock (true) or an error (false). */
    const lock = async (s: TestSubscription, cell: string, userId: number): Promise<boolean> => {
      const answered = (m: any) =>
        m.action === 'error' ||
        (m.action === 'cell_locked' && m.cell_id === cell && m.user_id === String(userId))
      const seen = s.received.filter(answered).length
      s.subscription.perform('lock_cell', { cell_id: cell })
      await until(() => s.received.filter(answered).length > seen, `an answer to locking ${cell}`)
      return s.received.filter(answered).at(-1).action === 'cell_locked'
    }

    it('unsubscribing one releases only its locks; the disconnect releases the rest', async () => {
      const first = await ownersStream()
      const second = await ownersStream()
      const extra = await ownersStream()
      const socket = live.consumer(owner.token)
      const one = await subscribe(socket, { channel: CHANNEL, stream_id: String(first.id) })
      const two = await subscribe(socket, { channel: CHANNEL, stream_id: String(second.id) })
      const watcher = await subscribe(live.consumer(rival.token), CHANNEL)

      assert.equal(await lock(one, first.cell, owner.id), true)
      assert.equal(await lock(two, second.cell, owner.id), true)

      one.subscription.unsubscribe()
      // The socket's commands run in order: once a lock taken after the unsubscribe is seen,
      // the unsubscribe has been handled in full.
      assert.equal(await lock(two, extra.cell, owner.id), true)
      await until(
        () => watcher.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === first.cell),
        'the first subscription’s lock released',
      )
      assert.equal(
        watcher.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === second.cell),
        false,
        'the second subscription’s lock was released with the first subscription',
      )
      // Another client cannot take what the remaining subscription holds; what the ended one held is free.
      assert.equal(await lock(watcher, second.cell, rival.id), false)
      assert.equal(watcher.received.at(-1).message, 'Cell is locked by another user')
      assert.equal(await lock(watcher, extra.cell, rival.id), false)
      assert.equal(await lock(watcher, first.cell, rival.id), true)
      // The socket is still in the editor through its other subscription (a list made after the
      // unsubscribe: the ping is handled after it).
      const seen = watcher.received.filter((m) => m.action === 'active_users_list').length
      watcher.subscription.perform('presence_ping', {})
      await until(
        () => watcher.received.filter((m) => m.action === 'active_users_list').length > seen,
        'the users list after a ping',
      )
      const users = watcher.received.filter((m) => m.action === 'active_users_list').at(-1).users
      assert.ok(
        users.some((u: { user_id: string }) => u.user_id === String(owner.id)),
        `the owner is still present: ${JSON.stringify(users)}`,
      )

      socket.disconnect()
      await until(
        () =>
          [second.cell, extra.cell].every((cell) =>
            watcher.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === cell),
          ),
        'the remaining locks released on disconnect',
      )
      assert.equal(await lock(watcher, second.cell, rival.id), true)
      assert.equal(await lock(watcher, extra.cell, rival.id), true)
    })
  })
}
