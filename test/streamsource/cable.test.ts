import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Consumer } from '@rails/actioncable'
import { WebSocket } from 'ws'
import { buildTestApp, DIALECTS, json, type TestContext } from '../helper.js'
import { consumer, subscribe, until } from './cable-client.js'
import { account, type TestAccount, uniqueLink } from './helpers.js'

/** A raw client for protocol details the library hides; collects every frame. */
async function raw(url: string, protocols = ['actioncable-v1-json', 'actioncable-unsupported']) {
  const ws = new WebSocket(url, protocols)
  const frames: any[] = []
  const rawFrames: string[] = []
  ws.on('message', (d) => {
    rawFrames.push(d.toString())
    frames.push(JSON.parse(d.toString()))
  })
  const closed = new Promise<void>((r) => ws.on('close', () => r()))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return { ws, frames, rawFrames, closed }
}

for (const dialect of DIALECTS) {
  describe(`/cable ActionCable (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let editor: TestAccount
    let other: TestAccount
    const consumers: Consumer[] = []

    before(async () => {
      ctx = await buildTestApp({ dialect, env: { CABLE_LOCK_TTL_MS: '1000' } })
      await ctx.app.listen({ port: 0, host: '127.0.0.1' })
      const addr = ctx.app.server.address() as { port: number }
      base = `http://127.0.0.1:${addr.port}`
      editor = await account(ctx.app, 'editor')
      // An admin: may lock and change the editor's streams (only the editor's lock stands in the way).
      other = await account(ctx.app, 'admin')
    })
    after(async () => {
      for (const c of consumers) c.disconnect()
      await ctx.close()
    })

    it('the real @rails/actioncable client receives created/updated/archived/deleted on StreamsChannel', async () => {
      const c = consumer(base, editor.token)
      consumers.push(c)
      const sub = await subscribe(c, 'StreamsChannel')
      const link = uniqueLink()
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link, title: 'Cable' },
      })
      const id = json(created).stream.id
      await until(() => sub.received.some((m) => m.action === 'created' && m.stream.id === id), 'created')
      await ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/streams/${id}`,
        headers: editor.headers,
        payload: { status: 'live' },
      })
      await until(
        () =>
          sub.received.some(
            (m) => m.action === 'updated' && m.stream.id === id && m.stream.status === 'live',
          ),
        'updated',
      )
      await ctx.app.inject({ method: 'POST', url: `/api/v1/streams/${id}/archive`, headers: editor.headers })
      await until(() => sub.received.some((m) => m.action === 'archived' && m.stream.is_archived), 'archived')
      await ctx.app.inject({ method: 'DELETE', url: `/api/v1/streams/${id}`, headers: editor.headers })
      await until(() => sub.received.some((m) => m.action === 'deleted' && m.stream.id === id), 'deleted')
      assert.equal(sub.received.find((m) => m.action === 'created').stream.link, link)
    })

    it('speaks the protocol: subprotocol, welcome, verbatim identifiers, one subscription, reject, ping', async () => {
      const c = await raw(`${base.replace('http', 'ws')}/cable?token=${editor.token}`)
      assert.equal(c.ws.protocol, 'actioncable-v1-json')
      await until(() => c.frames.some((f) => f.type === 'welcome'), 'welcome')
      // Odd spacing, key order and escapes must come back exactly as sent.
      const identifier = '{ "x":"\\u00e9/\\/", "channel" : "StreamsChannel"}'
      for (let i = 0; i < 3; i++) c.ws.send(JSON.stringify({ command: 'subscribe', identifier }))
      await until(() => c.frames.some((f) => f.type === 'confirm_subscription'), 'confirm')
      assert.ok(c.rawFrames.some((r) => r.includes(JSON.stringify(identifier))))
      const link = uniqueLink()
      await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link },
      })
      await until(() => c.frames.some((f) => f.message?.stream?.link === link), 'broadcast')
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(
        c.frames.filter((f) => f.type === 'confirm_subscription').length,
        1,
        'repeated subscribe is one',
      )
      assert.equal(c.frames.filter((f) => f.message?.stream?.link === link).length, 1, 'delivered once')
      for (const f of c.frames.filter((f) => f.identifier)) assert.equal(f.identifier, identifier)

      c.ws.send(JSON.stringify({ command: 'subscribe', identifier: '{"channel":"NoSuchChannel"}' }))
      await until(
        () =>
          c.frames.some(
            (f) => f.type === 'reject_subscription' && f.identifier === '{"channel":"NoSuchChannel"}',
          ),
        'reject',
      )
      await until(
        () => c.frames.some((f) => f.type === 'ping' && typeof f.message === 'number'),
        'ping',
        8000,
      )
      c.ws.send(JSON.stringify({ command: 'unsubscribe', identifier }))
      await new Promise((r) => setTimeout(r, 100))
      const link2 = uniqueLink()
      await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link: link2 },
      })
      await new Promise((r) => setTimeout(r, 300))
      assert.ok(!c.frames.some((f) => f.message?.stream?.link === link2), 'nothing after unsubscribe')
      c.ws.close()
    })

    it('refuses bad tokens with disconnect {reason: "unauthorized", reconnect: false}', async () => {
      for (const url of [
        `${base.replace('http', 'ws')}/cable?token=nope`,
        `${base.replace('http', 'ws')}/cable`,
      ]) {
        const c = await raw(url)
        await c.closed
        assert.deepEqual(c.frames, [{ type: 'disconnect', reason: 'unauthorized', reconnect: false }])
      }
      // A revoked token is refused too, and the cookie is accepted.
      const temp = await account(ctx.app, 'editor')
      const ok = new WebSocket(`${base.replace('http', 'ws')}/cable`, ['actioncable-v1-json'], {
        headers: { cookie: `jwt_token=${temp.token}` },
      })
      const okFrames: any[] = []
      ok.on('message', (d) => okFrames.push(JSON.parse(d.toString())))
      await until(() => okFrames.some((f) => f.type === 'welcome'), 'cookie welcome')
      ok.close()
      // The cookie from the server's own page works; from another site's page it does not
      // (cross-site WebSocket hijacking), while a token in the URL needs no origin.
      const from = (origin: string, url = `${base.replace('http', 'ws')}/cable`) =>
        new Promise<number | 'open'>((resolve) => {
          const ws = new WebSocket(url, ['actioncable-v1-json'], {
            headers: { cookie: `jwt_token=${temp.token}`, origin },
          })
          ws.once('open', () => {
            ws.close()
            resolve('open')
          })
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
          ws.once('error', () => {})
        })
      assert.equal(await from(base), 'open')
      assert.equal(await from('https://evil.example'), 403)
      assert.equal(
        await from('https://evil.example', `${base.replace('http', 'ws')}/cable?token=${temp.token}`),
        'open',
      )
      await ctx.app.inject({ method: 'DELETE', url: '/api/v1/logout', headers: temp.headers })
      const revoked = await raw(`${base.replace('http', 'ws')}/cable?token=${temp.token}`)
      await revoked.closed
      assert.equal(revoked.frames[0].reason, 'unauthorized')
    })

    it('ends an open socket whose login ended (logout), at its next command', async () => {
      const temp = await account(ctx.app, 'editor')
      const c = await raw(`${base.replace('http', 'ws')}/cable?token=${temp.token}`)
      const identifier = '{"channel":"CollaborativeStreamsChannel"}'
      c.ws.send(JSON.stringify({ command: 'subscribe', identifier }))
      await until(() => c.frames.some((f) => f.type === 'confirm_subscription'), 'confirmed')
      await ctx.app.inject({ method: 'DELETE', url: '/api/v1/logout', headers: temp.headers })
      c.ws.send(
        JSON.stringify({
          command: 'message',
          identifier,
          data: JSON.stringify({ action: 'lock_cell', cell_id: 'stream_9_title' }),
        }),
      )
      await until(() => c.ws.readyState === c.ws.CLOSED, 'the socket closed by the server')
      assert.ok(!c.frames.some((f) => f.message?.action === 'cell_locked'), JSON.stringify(c.frames))
      assert.deepEqual(c.frames.at(-1), { type: 'disconnect', reason: 'unauthorized', reconnect: false })
    })

    it('keeps read-only accounts out of CollaborativeStreamsChannel (editors’ emails, cell locks)', async () => {
      const reader = await account(ctx.app, 'default')
      const c = await raw(`${base.replace('http', 'ws')}/cable?token=${reader.token}`)
      const identifier = '{"channel":"CollaborativeStreamsChannel"}'
      c.ws.send(JSON.stringify({ command: 'subscribe', identifier }))
      await until(
        () => c.frames.some((f) => f.type === 'reject_subscription' && f.identifier === identifier),
        'reject',
      )
      c.ws.send(
        JSON.stringify({
          command: 'message',
          identifier,
          data: JSON.stringify({ action: 'lock_cell', cell_id: 'stream_1_title' }),
        }),
      )
      await new Promise((r) => setTimeout(r, 200))
      assert.ok(!c.frames.some((f) => f.message?.action === 'cell_locked'), JSON.stringify(c.frames))
      c.ws.close()
    })

    it('CollaborativeStreamsChannel: presence, exclusive locks, edits, errors to the sender only, expiry', async () => {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams',
        headers: editor.headers,
        payload: { link: uniqueLink() },
      })
      const streamId = json(created).stream.id
      const ca = consumer(base, editor.token)
      const cb = consumer(base, other.token)
      consumers.push(ca, cb)
      const a = await subscribe(ca, 'CollaborativeStreamsChannel')
      const b = await subscribe(cb, 'CollaborativeStreamsChannel')
      const ids = (m: any) => m.users.map((u: any) => u.user_id).sort()
      await until(
        () =>
          a.received.some(
            (m) =>
              m.action === 'active_users_list' &&
              ids(m).includes(String(editor.id)) &&
              ids(m).includes(String(other.id)),
          ),
        'presence',
      )
      b.subscription.perform('presence_ping')
      const cell = `stream_${streamId}_title`
      a.subscription.perform('lock_cell', { cell_id: cell })
      await until(
        () => b.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell),
        'lock seen by B',
      )
      b.subscription.perform('lock_cell', { cell_id: cell })
      await until(() => b.received.some((m) => m.action === 'error'), 'B told the cell is taken')
      b.subscription.perform('update_cell', {
        cell_id: cell,
        stream_id: streamId,
        field: 'title',
        value: 'B was here',
      })
      a.subscription.perform('update_cell', {
        cell_id: cell,
        stream_id: streamId,
        field: 'title',
        value: 'Edited',
      })
      await until(
        () => b.received.some((m) => m.action === 'cell_updated' && m.value === 'Edited'),
        'edit seen by B',
      )
      assert.equal(b.received.filter((m) => m.action === 'error').length, 2)
      assert.ok(!a.received.some((m) => m.action === 'error'), 'errors go to the sender only')
      const stream = json(
        await ctx.app.inject({ url: `/api/v1/streams/${streamId}`, headers: editor.headers }),
      )
      assert.equal(stream.title, 'Edited')

      a.subscription.perform('unlock_cell', { cell_id: cell })
      await until(() => b.received.some((m) => m.action === 'cell_unlocked' && m.cell_id === cell), 'unlock')
      // Locks expire (1 s here): B can take a cell A locked and abandoned.
      const cell2 = `stream_${streamId}_notes`
      a.subscription.perform('lock_cell', { cell_id: cell2 })
      await until(() => b.received.some((m) => m.action === 'cell_locked' && m.cell_id === cell2), 'lock 2')
      await new Promise((r) => setTimeout(r, 1200))
      b.subscription.perform('lock_cell', { cell_id: cell2 })
      await until(
        () =>
          a.received.some(
            (m) => m.action === 'cell_locked' && m.cell_id === cell2 && m.user_id === String(other.id),
          ),
        'B locks after expiry',
      )
    })
  })
}
