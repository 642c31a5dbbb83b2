import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS } from '../helper.js'
import { baseUrl, connect, type TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000

/** The first frame after `from` that answers a client frame (an `update_ack` or an `error`). */
const answer = (c: TestClient, from: number) =>
  c.next((f) => f.type === 'update_ack' || f.type === 'error', WAIT, from)

/** Send `frame` (raw text when a string) and return the answer to it. */
async function ask(c: TestClient, frame: unknown) {
  const from = c.frames.length
  c.send(frame)
  return answer(c, from)
}

/** The socket still reads and answers frames. */
async function stillHealthy(c: TestClient) {
  const from = c.frames.length
  const ts = Math.floor(Math.random() * 1e9)
  c.send({ type: 'ping', ts })
  await c.next((f) => f.type === 'pong' && f.ts === ts, WAIT, from)
  assert.equal(c.closed, undefined)
}

for (const dialect of DIALECTS) {
  describe(`realtime gateway QA (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_MAX_PAYLOAD: '262144' } })

    it('refuses frames nested deeper than JSON_MAX_DEPTH with JSON_TOO_DEEP, as REST does', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
      // REST refuses the same body before parsing it.
      const rest = await live.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${await live.guestToken()}`, 'content-type': 'application/json' },
        payload: `{"action":"content.view","data":{"a":${nested(50)}}}`,
      })
      assert.equal(rest.statusCode, 400)
      assert.equal(JSON.parse(rest.body).error.code, 'JSON_TOO_DEEP')
      // An action is answered by its update_ack (stored before: deeper still, a 500 INTERNAL).
      for (const depth of [50, 20_000]) {
        const ack = await ask(
          c,
          `{"type":"campaign_event","event":"content.view","request_id":"deep_${depth}","payload":{"a":${nested(depth)}}}`,
        )
        assert.equal(ack.type, 'update_ack', JSON.stringify(ack))
        assert.equal(ack.request_id, `deep_${depth}`)
        assert.equal(ack.status, 'error')
        assert.equal(ack.error.code, 'JSON_TOO_DEEP')
      }
      // Any other frame gets an error frame.
      const err = await ask(c, `{"type":"cursor","x":0.5,"y":0.5,"pad":${nested(50)}}`)
      assert.equal(err.type, 'error')
      assert.equal(err.code, 'JSON_TOO_DEEP')
      // Within the limit, nesting is fine.
      const ok = await ask(c, {
        type: 'campaign_event',
        event: 'content.view',
        request_id: 'shallow',
        payload: { a: [[[[1]]]] },
      })
      assert.equal(ok.status, 'success', JSON.stringify(ok))
      await stillHealthy(c)
    })

    it('answers an action with a NUL or half a surrogate pair by its update_ack, INVALID_CHARACTER as REST', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      // A JSON.stringify of a string cut inside an emoji (`'😀'.slice(0, 1)`) sends `"\ud83d"`.
      for (const [id, text] of [
        ['nul', 'a\\u0000b'],
        ['half_emoji', 'cut \\ud83d'],
      ]) {
        const ack = await ask(
          c,
          `{"type":"campaign_event","event":"content.view","request_id":"${id}","payload":{"note":"${text}"}}`,
        )
        assert.equal(ack.type, 'update_ack', `${id}: ${JSON.stringify(ack)}`)
        assert.equal(ack.request_id, id)
        assert.equal(ack.status, 'error')
        assert.equal(ack.error.code, 'INVALID_CHARACTER')
      }
      const err = await ask(c, '{"type":"nope","note":"a\\u0000b"}')
      assert.equal(err.type, 'error')
      assert.equal(err.code, 'INVALID_CHARACTER')
      await stillHealthy(c)
    })

    it('refuses a request_id that is not a non-empty string, as REST does, instead of acting under another id', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      for (const requestId of [5, '', null, { id: 'x' }]) {
        const ack = await ask(c, { type: 'campaign_event', event: 'content.view', request_id: requestId })
        assert.equal(ack.type, 'update_ack')
        assert.equal(ack.status, 'error', `request_id ${JSON.stringify(requestId)}: ${JSON.stringify(ack)}`)
        assert.equal(ack.error.code, 'VALIDATION_FAILED')
        assert.ok(ack.error.details.some((d: { path: string }) => d.path === '/request_id'))
        assert.equal(typeof ack.request_id, 'string')
      }
      // Without one, the server names it and the action runs.
      const ack = await ask(c, { type: 'campaign_event', event: 'content.view' })
      assert.equal(ack.status, 'success')
      assert.match(ack.request_id, /^[0-9A-Z]{26}$/)
    })

    it('refuses a frame without a string type with VALIDATION_FAILED at /type, and bounds echoed type names', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      for (const frame of [{ x: 1 }, { type: 5 }, { type: { a: 1 } }, { type: '' }, { type: null }]) {
        const err = await ask(c, frame)
        assert.equal(err.type, 'error')
        assert.equal(err.code, 'VALIDATION_FAILED', JSON.stringify(frame))
        assert.deepEqual(
          err.details.map((d: { path: string }) => d.path),
          ['/type'],
        )
      }
      const long = await ask(c, { type: 'x'.repeat(10_000) })
      assert.equal(long.code, 'UNKNOWN_FRAME_TYPE')
      assert.ok(long.message.length < 200, `message of ${long.message.length} characters`)
      // The rest of the malformed frames a client may send: each answered, the socket kept.
      for (const raw of ['[1,2]', '42', 'null', '"ping"']) {
        assert.equal((await ask(c, raw)).code, 'VALIDATION_FAILED', raw)
      }
      assert.equal((await ask(c, 'not json')).code, 'INVALID_JSON')
      const from = c.frames.length
      c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true })
      assert.equal((await answer(c, from)).code, 'UNSUPPORTED_FRAME')
      for (const [x, y] of [
        ['NaN', 0.5],
        [null, 0.5],
        [0.5, 2],
        [-0.01, 0.5],
      ]) {
        assert.equal((await ask(c, { type: 'cursor', x, y })).code, 'VALIDATION_FAILED')
      }
      await stillHealthy(c)
    })

    it('refuses, with a reason, a handshake offering subprotocols without "ovasabi"', async () => {
      const slug = await createCampaign(live.app)
      const token = await live.guestToken()
      // Before, the server opened these sockets (and counted their users) without selecting a
      // subprotocol, and the client dropped the handshake with no reason it could show.
      for (const [path, protocols] of [
        [`/ws/${slug}/guest`, [token]],
        [`/ws/${slug}/guest?token=${token}`, ['chat']],
      ] as const) {
        const err: any = await connect(`${live.url}${path}`, { protocols: [...protocols] }).then(
          () => assert.fail(`${protocols} was accepted`),
          (e) => e,
        )
        assert.equal(err.status, 400, String(err))
        const body = JSON.parse(err.body)
        assert.equal(body.error.code, 'VALIDATION_FAILED')
        assert.match(body.error.message, /ovasabi/)
      }
      const ok = await live.open(`/ws/${slug}/guest`, { protocols: ['ovasabi', token] })
      assert.equal(ok.ws.protocol, 'ovasabi')
    })

    it("closes a campaign's sockets when its schedule ends while they are open, telling them why", async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      const other = await live.openGuest(await createCampaign(live.app))
      // The end is set while the socket is open, a moment ahead: the campaign is still active.
      const end = new Date(Date.now() + 3000).toISOString()
      const res = await live.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: { ...adminHeaders, 'content-type': 'application/merge-patch+json' },
        payload: { metadata: { scheduling: { end } } },
      })
      assert.equal(res.statusCode, 200, res.body)
      const closed = await c.untilClosed(WAIT)
      assert.deepEqual(closed, { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      const err = c.frames.find((f) => f.type === 'error')
      assert.equal(err?.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(err?.details, { status: 'ended' })
      // A new socket is refused as for any ended campaign; other campaigns' sockets stay.
      const refused: any = await connect(
        `${live.url}/ws/${slug}/guest?token=${await live.guestToken()}`,
      ).then(
        () => assert.fail('an ended campaign accepted a socket'),
        (e) => e,
      )
      assert.equal(refused.status, 409)
      await stillHealthy(other)
    })

    it('tells a socket why before closing it when its campaign is archived', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      const res = await live.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(await c.untilClosed(WAIT), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      const err = c.frames.find((f) => f.type === 'error')
      assert.equal(err?.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(err?.details, { status: 'archived' })
    })

    it('closes every socket with 1012 SERVER_RESTART on shutdown', async () => {
      const ctx = await buildTestApp({ dialect })
      const opened: TestClient[] = []
      let closing: Promise<void> | undefined
      try {
        await ctx.app.listen({ port: 0, host: '127.0.0.1' })
        const slug = await createCampaign(ctx.app)
        for (let i = 0; i < 2; i++) {
          const { token } = await ctx.app.platform.tokens.issueGuest()
          opened.push(await connect(`${baseUrl(ctx.app)}/ws/${slug}/guest?token=${token}`))
        }
        closing = ctx.close()
        for (const c of opened)
          assert.deepEqual(await c.untilClosed(WAIT), { code: 1012, reason: 'SERVER_RESTART' })
        await closing
      } finally {
        for (const c of opened) c.close()
        await (closing ?? ctx.close()).catch(() => {})
      }
    })
  })
}
