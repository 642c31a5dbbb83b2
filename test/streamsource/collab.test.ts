import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { DIALECTS, json, type TestContext } from '../helper.js'
import { cableApp, subscribe, type TestSubscription, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/** What one collaborator's own commands got back: its errors, and the locks and edits made as it. */
const replies = (s: TestSubscription, userId: number) =>
  s.received.filter(
    (m) =>
      m.action === 'error' ||
      ((m.action === 'cell_locked' || m.action === 'cell_updated') && m.user_id === String(userId)),
  )

for (const dialect of DIALECTS) {
  describe(`CollaborativeStreamsChannel cells (${dialect})`, () => {
    let live: Awaited<ReturnType<typeof cableApp>>
    let ctx: TestContext
    let owner: TestAccount
    let admin: TestAccount
    let stranger: TestAccount

    before(async () => {
      live = await cableApp(dialect)
      ctx = live.ctx
      owner = await account(ctx.app, 'editor')
      admin = await account(ctx.app, 'admin')
      stranger = await account(ctx.app, 'editor')
    })
    after(() => live.close())

    /** A stream of the owner's, and the cell of its title. */
    const ownersStream = async (title: string) => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: owner.headers,
        payload: { link: uniqueLink(), title },
      })
      const id: number = json(created).stream.id
      return { id, cell: `stream_${id}_title` }
    }

    const title = async (id: number) =>
      json(await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers: owner.headers })).title

    it('an edit needs the lock on the cell it changes, not on some other cell', async () => {
      const { id, cell } = await ownersStream('Original')
      const a = await subscribe(live.consumer(owner.token), 'CollaborativeStreamsChannel')
      // An admin may change any stream: only the lock stands between B and A's cell.
      const b = await subscribe(live.consumer(admin.token), 'CollaborativeStreamsChannel')

      a.subscription.perform('lock_cell', { cell_id: cell })
      await until(() => b.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell), 'A locks')

      const before = replies(b, admin.id).length
      // Ids that name no cell are refused: free-form, unknown field, a second spelling of A's cell.
      for (const bogus of ['x', `stream_${id}_bogus`, `stream_0${id}_title`, `${cell} `])
        b.subscription.perform('lock_cell', { cell_id: bogus })
      b.subscription.perform('lock_cell', { cell_id: `stream_${id}_notes` })
      const attempts = [
        { cell_id: 'x' },
        { cell_id: `stream_${id}_notes` },
        { cell_id: `stream_0${id}_title` },
        {},
        { cell_id: cell },
      ]
      for (const named of attempts)
        b.subscription.perform('update_cell', { ...named, stream_id: id, field: 'title', value: 'B' })
      await until(() => replies(b, admin.id).length >= before + 5 + attempts.length, 'B answered')
      const got = replies(b, admin.id).slice(before)
      assert.deepEqual(
        got.filter((m) => m.action !== 'error').map((m) => [m.action, m.cell_id]),
        [['cell_locked', `stream_${id}_notes`]],
        JSON.stringify(got),
      )
      assert.ok(!a.received.some((m) => m.action === 'cell_updated'), 'nothing was edited')
      assert.equal(await title(id), 'Original')

      // The real client sends stream_id as a string (a data attribute).
      a.subscription.perform('update_cell', {
        cell_id: cell,
        stream_id: String(id),
        field: 'title',
        value: 'A',
      })
      await until(
        () => b.received.some((m) => m.action === 'cell_updated' && m.cell_id === cell && m.value === 'A'),
        'A edits',
      )
      assert.equal(await title(id), 'A')
      assert.ok(!a.received.some((m) => m.action === 'error'), JSON.stringify(a.received))
    })

    it('only someone who may change a stream can lock its cells or edit them', async () => {
      const { id, cell } = await ownersStream('Mine')
      const o = await subscribe(live.consumer(owner.token), 'CollaborativeStreamsChannel')
      const s = await subscribe(live.consumer(stranger.token), 'CollaborativeStreamsChannel')
      // Another editor cannot lock the owner out of their own stream ...
      s.subscription.perform('lock_cell', { cell_id: cell })
      s.subscription.perform('lock_cell', { cell_id: `stream_${id + 1_000_000}_title` })
      await until(() => replies(s, stranger.id).filter((m) => m.action === 'error').length >= 2, 'refused')
      // ... nor edit it without a lock.
      s.subscription.perform('update_cell', { stream_id: id, field: 'title', value: 'Not yours' })
      await until(() => replies(s, stranger.id).filter((m) => m.action === 'error').length >= 3, 'refused')
      assert.ok(!o.received.some((m) => m.action === 'cell_locked'), JSON.stringify(o.received))
      assert.ok(!s.received.some((m) => m.action === 'cell_updated'), JSON.stringify(s.received))
      // The owner can still take the lock and edit.
      o.subscription.perform('lock_cell', { cell_id: cell })
      await until(
        () => o.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
        'owner locks',
      )
      o.subscription.perform('update_cell', {
        cell_id: cell,
        stream_id: id,
        field: 'title',
        value: 'Still mine',
      })
      await until(() => o.received.some((m) => m.action === 'cell_updated'), 'owner edits')
      assert.equal(await title(id), 'Still mine')
    })
  })
}
