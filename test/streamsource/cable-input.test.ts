import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { consumer, subscribe, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

for (const dialect of DIALECTS) {
  describe(`CollaborativeStreamsChannel cell values (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let owner: TestAccount
    const consumers: Consumer[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`
      owner = await account(ctx.app, 'editor')
    })
    after(async () => {
      for (const c of consumers) c.disconnect()
      await ctx.close()
    })

    it('an edit is checked like a REST change: wrong types, over-long text and control characters are refused', async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: owner.headers,
        payload: { link: uniqueLink(), title: 'Original' },
      })
      const id: number = json(created).stream.id
      const c = consumer(base, owner.token)
      consumers.push(c)
      const s = await subscribe(c, 'CollaborativeStreamsChannel')
      const errors = () => s.received.filter((m) => m.action === 'error')
      const edits = () => s.received.filter((m) => m.action === 'cell_updated')

      // A cell edit reaches the service with no request schema in front of it: each of these
      // used to be stored as it came ("[object Object]", 'yes', 3,000 characters) or to fail
      // with no answer at all (a number where text belongs).
      const bad: Array<[string, unknown]> = [
        ['status', 5],
        ['link', 7],
        ['kind', null],
        ['is_pinned', 'garbage'],
        ['is_pinned', 'yes'],
        ['title', { a: 1 }],
        ['title', 'x'.repeat(3000)],
        ['title', 'a\u001b[31mb'],
      ]
      for (const [field, value] of bad) {
        const cell = `stream_${id}_${field}`
        s.subscription.perform('lock_cell', { cell_id: cell })
        await until(
          () => s.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
          `lock ${cell}`,
        )
        const seen = errors().length
        s.subscription.perform('update_cell', { cell_id: cell, stream_id: id, field, value })
        await until(() => errors().length > seen || edits().length > 0, `answer to ${field}`)
        assert.equal(edits().length, 0, `${field}=${JSON.stringify(value).slice(0, 40)} was stored`)
        assert.match(
          errors().at(-1)!.message,
          /^(Status|Link|Kind|Is pinned|Title) /,
          errors().at(-1)!.message,
        )
        s.subscription.perform('unlock_cell', { cell_id: cell })
        await until(
          () => s.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === cell),
          `unlock ${cell}`,
        )
      }
      const stream = json(await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers: owner.headers }))
      assert.equal(stream.title, 'Original')
      assert.equal(stream.is_pinned, false)
      assert.equal(stream.status, 'unknown')

      // A good value still goes through.
      const cell = `stream_${id}_is_pinned`
      s.subscription.perform('lock_cell', { cell_id: cell })
      await until(
        () => s.received.filter((m) => m.action === 'cell_locked' && m.cell_id === cell).length >= 3,
        'lock',
      )
      s.subscription.perform('update_cell', { cell_id: cell, stream_id: id, field: 'is_pinned', value: true })
      await until(() => edits().length === 1, 'edit')
      assert.equal(edits()[0].stream.is_pinned, true)
    })

    it('cell_updated carries the value as stored (trimmed, the alias resolved, blank as null), not as sent', async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: owner.headers,
        payload: { link: uniqueLink(), title: 'Original', city: 'Austin' },
      })
      const id: number = json(created).stream.id
      const c = consumer(base, owner.token)
      consumers.push(c)
      const s = await subscribe(c, 'CollaborativeStreamsChannel')
      const cases: Array<[string, unknown, unknown]> = [
        ['title', '  Padded title \n', 'Padded title'],
        ['status', ' ONLINE ', 'live'],
        ['city', '   ', null],
        ['platform', 'YouTube', 'youtube'],
      ]
      for (const [field, sent, stored] of cases) {
        const cell = `stream_${id}_${field}`
        s.subscription.perform('lock_cell', { cell_id: cell })
        await until(
          () => s.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
          `lock ${cell}`,
        )
        s.subscription.perform('update_cell', { cell_id: cell, stream_id: id, field, value: sent })
        await until(
          () =>
            s.received.some(
              (m) => (m.action === 'cell_updated' && m.cell_id === cell) || m.action === 'error',
            ),
          `edit of ${field}`,
        )
        const edit = s.received.find((m) => m.action === 'cell_updated' && m.cell_id === cell)
        assert.ok(edit, JSON.stringify(s.received.filter((m) => m.action === 'error')))
        assert.deepEqual(edit.value, stored, field)
        assert.deepEqual(edit.stream[field], stored, `${field} in the stream`)
      }
      const stream = json(await ctx.app.inject({ url: `/api/v1/streams/${id}`, headers: owner.headers }))
      assert.deepEqual([stream.title, stream.status, stream.city], ['Padded title', 'live', null])
    })
  })
}
