import assert from 'node:assert/strict'
import { connect as tcpConnect } from 'node:net'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createCampaign, DIALECTS, joinWithPassword, json, logInElsewhere } from '../helper.js'
import { metric, type TestClient } from './client.js'
import { publishEvent, realtimeSuite, tcpSocket } from './fixtures.js'
import { assertRefusal, headerValues, rawUpgrade } from './raw-upgrade.js'

/** Every wait is bounded generously: CI is a loaded two-core host. */
const WAIT = 20_000
/** The largest frame the suite's server reads (`WS_MAX_PAYLOAD`). */
const MAX_FRAME = 1024

/** A round trip answered: the socket is open and has read (and been sent) everything before it. */
async function answersPing(c: TestClient): Promise<void> {
  const from = c.frames.length
  c.send({ type: 'ping' })
  await c.next((f) => f.type === 'pong', WAIT, from)
  assert.equal(c.closed, undefined)
}

/** The first frame from `from` on (the server answers each frame once). */
async function ask(c: TestClient, frame: unknown): Promise<any> {
  const from = c.frames.length
  c.send(frame)
  return c.next(() => true, WAIT, from)
}

/**
 * A client frame written by hand (masked with the all-zero key, so the payload goes as is): what a
 * `ws` client refuses to send (a close code no endpoint may use, a reason that is no UTF-8).
 */
function rawFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode
  const length =
    payload.length < 126 ? [0x80 | payload.length] : [0x80 | 126, payload.length >> 8, payload.length & 0xff]
  return Buffer.concat([Buffer.from([first, ...length]), Buffer.alloc(4), payload])
}

/** A ping frame of `bytes` bytes as JSON text: `{"type":"ping","pad":"xx…"}`. */
function pingOf(bytes: number): string {
  const empty = '{"type":"ping","pad":""}'
  return `{"type":"ping","pad":"${'x'.repeat(bytes - empty.length)}"}`
}

/** A person who joined `slug` with a password, their user id and their first session's token. */
async function member(app: FastifyInstance, slug: string) {
  const m = await joinWithPassword(app, slug)
  const me = await app.inject({
    method: 'GET',
    url: '/api/auth/me',
    headers: { authorization: `Bearer ${m.token}` },
  })
  assert.equal(me.statusCode, 200, me.body)
  return { ...m, id: json(me).user_id as string, session: json(me).session_id as string }
}

/** `token`'s session logs out; the sockets it covers are closed by the time it answers. */
async function logOut(app: FastifyInstance, token: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: { authorization: `Bearer ${token}` },
  })
  assert.equal(res.statusCode, 200, res.body)
}

for (const dialect of DIALECTS) {
  describe(`the /ws gateway, fourth QA pass (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_MAX_PAYLOAD: String(MAX_FRAME) } })

    it('moves a socket to the session of the token an auth refresh gave it: its logout closes it, the old one’s does not', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const ann = await member(app, slug)
      const refreshed = await live.open(`/ws/${slug}/${ann.id}?token=${ann.token}`)
      const stays = await live.open(`/ws/${slug}/${ann.id}?token=${ann.token}`)
      // Ann logs in again elsewhere, and her page hands the new session's token to the socket.
      const elsewhere = await logInElsewhere(app, slug, ann)
      const ok = await ask(refreshed, { type: 'auth', token: elsewhere.token })
      assert.equal(ok.type, 'auth_ok', JSON.stringify(ok))
      const session = (await app.platform.tokens.verify(elsewhere.token)).session_id
      assert.notEqual(session, ann.session)

      // Frames for the new session reach it.
      await app.publisher.publish(
        { scope: 'session', campaign: slug, session_id: session },
        { type: 'notification', event: 'qa4.session' },
      )
      await refreshed.next((f) => f.type === 'notification' && f.event === 'qa4.session', WAIT)

      // The old session's logout closes the sockets that still use its token, not this one
      // (before: it was closed though its token was valid, as the 30 s re-check would say).
      await logOut(app, ann.token)
      assert.deepEqual(await stays.untilClosed(WAIT), { code: 1008, reason: 'TOKEN_REVOKED' })
      await answersPing(refreshed)

      // The new session's logout closes it at once (before: only at the next 30 s re-check). A
      // ping sent once the logout answered is not read.
      await logOut(app, elsewhere.token)
      refreshed.send({ type: 'ping', ts: 1 })
      assert.deepEqual(await refreshed.untilClosed(WAIT), { code: 1008, reason: 'TOKEN_REVOKED' })
      assert.equal(refreshed.frames.find((f) => f.type === 'error')?.code, 'TOKEN_REVOKED')
      assert.ok(!refreshed.frames.some((f) => f.type === 'pong' && f.ts === 1), 'the ping was not answered')
    })

    it('answers a handshake ws cannot take with the REST error body, not a plain-text page', async () => {
      const slug = await createCampaign(live.app)
      const token = await live.guestToken()
      const refused = () => metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="VALIDATION_FAILED"')
      const before = await refused()
      // Duplicate subprotocols (the token named twice, or `ovasabi` twice) are no valid list.
      for (const protocols of [`ovasabi, ${token}, ${token}`, `ovasabi, ovasabi, ${token}`]) {
        const answer = await rawUpgrade(live.port, `/ws/${slug}/guest`, {
          'Sec-WebSocket-Protocol': protocols,
        })
        assert.equal(assertRefusal(answer, 400), 'VALIDATION_FAILED', answer.raw)
        const body = JSON.parse(answer.body)
        assert.match(body.error.message, /Sec-WebSocket-Protocol/)
        assert.deepEqual(
          body.error.details.map((d: { path: string }) => d.path),
          ['/headers/sec-websocket-protocol'],
        )
      }
      // A protocol version this server does not speak: refused naming the ones it does.
      const version = await rawUpgrade(live.port, `/ws/${slug}/guest?token=${token}`, {
        'Sec-WebSocket-Version': '12',
      })
      assert.equal(assertRefusal(version, 400), 'VALIDATION_FAILED', version.raw)
      assert.deepEqual(headerValues(version, 'sec-websocket-version'), ['13, 8'])
      assert.equal((await refused()) - before, 3, 'counted as refusals')
    })

    it('answers an upgrade that is no GET with 405 and the REST error body', async () => {
      const slug = await createCampaign(live.app)
      const token = await live.guestToken()
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = tcpConnect(live.port, '127.0.0.1')
        let text = ''
        socket.on('data', (d) => {
          text += d.toString('latin1')
        })
        socket.on('error', reject)
        socket.on('close', () => resolve(text))
        socket.write(
          `POST /ws/${slug}/guest?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
            'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
            'Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n',
        )
      })
      assert.match(raw, /^HTTP\/1\.1 405 /)
      assert.match(raw, /\r\nAllow: GET\r\n/)
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))
      assert.equal(body.error.code, 'METHOD_NOT_ALLOWED')
    })

    it('keeps a ping flood to the inbound rate: RATE_LIMITED, then 1008, never a cut without a close frame', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      let pongs = 0
      c.ws.on('pong', () => pongs++)
      // Control pings with the largest payload, sent at once; before, the socket was cut (1006,
      // no reason) as soon as 60 of them waited for their pong.
      for (let i = 0; i < 2000; i++) c.ws.ping(Buffer.alloc(125, i & 0xff))
      assert.deepEqual(await c.untilClosed(WAIT), { code: 1008, reason: 'RATE_LIMITED' })
      const errors = c.frames.filter((f) => f.type === 'error')
      assert.deepEqual(
        errors.map((f) => f.code),
        ['RATE_LIMITED', 'RATE_LIMITED'],
      )
      assert.ok(Number.isInteger(errors[0].retry_after_ms), JSON.stringify(errors[0]))
      const burst = c.frames[0].limits.burst as number
      assert.ok(pongs >= 1 && pongs <= burst + 60, `${pongs} pongs for a bucket of ${burst}`)
      // Another socket's pings are answered as ever.
      const calm = await live.openGuest(await createCampaign(live.app))
      const pong = new Promise<Buffer>((resolve) => calm.ws.once('pong', resolve))
      calm.ws.ping(Buffer.from('hello'))
      assert.equal((await pong).toString(), 'hello')
    })

    it('counts a close for too many fragments under the code the socket was closed with (1008)', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      const closes = () => metric(live.app, 'ovasabi_ws_closes_total', 'code="1008"')
      const before = await closes()
      // One text message in 17,000 empty fragments: more than ws keeps (16,384).
      const parts = [rawFrame(0x1, Buffer.alloc(0), false)]
      for (let i = 0; i < 17_000; i++) parts.push(rawFrame(0x0, Buffer.alloc(0), false))
      tcpSocket(c.ws).write(Buffer.concat(parts))
      assert.equal((await c.untilClosed(WAIT)).code, 1008)
      // Before, it was counted as 1002.
      await answersPing(await live.openGuest(await createCampaign(live.app)))
      assert.equal((await closes()) - before, 1)
    })

    it('reads a frame of exactly max_frame_bytes, whole or in fragments, and closes one a byte over with 1009', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      assert.equal(c.frames[0].limits.max_frame_bytes, MAX_FRAME)
      const at = pingOf(MAX_FRAME)
      assert.equal(Buffer.byteLength(at), MAX_FRAME)
      assert.equal((await ask(c, at)).type, 'pong')
      // The limit is the message's: two fragments adding up to it are read as one frame.
      let from = c.frames.length
      c.ws.send(at.slice(0, 500), { fin: false })
      c.ws.send(at.slice(500), { fin: true })
      assert.equal((await c.next(() => true, WAIT, from)).type, 'pong')
      // One byte over, in fragments too.
      const over = pingOf(MAX_FRAME + 1)
      c.ws.send(over.slice(0, 500), { fin: false })
      c.ws.send(over.slice(500), { fin: true })
      assert.equal((await c.untilClosed(WAIT)).code, 1009)
      const whole = await live.openGuest(slug)
      from = whole.frames.length
      whole.send(over)
      assert.equal((await whole.untilClosed(WAIT)).code, 1009)
      assert.equal(whole.frames.slice(from).length, 0, 'nothing of it was read')
    })

    it('closes on a close frame with a reserved code (1002) or a reason that is no UTF-8 (1007); the user leaves', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const watcher = await live.openGuest(slug)
      const closes = async () => [
        await metric(live.app, 'ovasabi_ws_closes_total', 'code="1002"'),
        await metric(live.app, 'ovasabi_ws_closes_total', 'code="1007"'),
      ]
      const before = await closes()
      // 1005 is never sent on the wire; 0xff 0xfe is no UTF-8.
      for (const [payload, code] of [
        [Buffer.from([0x03, 0xed]), 1002],
        [Buffer.from([0x03, 0xe8, 0xff, 0xfe]), 1007],
      ] as const) {
        const c = await live.openGuest(slug)
        const id = c.frames[0].cursor_id
        c.send({ type: 'cursor', x: 0.5, y: 0.5 })
        await watcher.next(
          (f) => f.type === 'presence_update' && f.cursors.some((k: any) => k[0] === id),
          WAIT,
        )
        tcpSocket(c.ws).write(rawFrame(0x8, payload))
        assert.equal((await c.untilClosed(WAIT)).code, code)
        await watcher.next((f) => f.type === 'presence_update' && f.left.includes(id), WAIT)
      }
      const after = await closes()
      assert.deepEqual([after[0]! - before[0]!, after[1]! - before[1]!], [1, 1])
      await answersPing(watcher)
    })

    it('resumes from an id past the latest with resync_required naming the latest; from the latest with nothing', async () => {
      const slug = await createCampaign(live.app)
      for (let n = 1; n <= 3; n++) await publishEvent(live.app, slug, n)
      let latest = (await live.openGuest(slug)).frames[0].last_event_id as number
      assert.ok(latest >= 3)
      for (const ahead of [1, 999_999_999_999_999]) {
        const since = Math.min(latest + ahead, 999_999_999_999_999)
        const c = await live.openGuest(slug, `&since=${since}`)
        const resync = await c.next((f) => f.type === 'resync_required', WAIT)
        assert.deepEqual(resync, { type: 'resync_required', since, latest_id: latest })
        // Live events go on after the latest id, with nothing replayed.
        await publishEvent(live.app, slug, ahead)
        const next = await c.next((f) => f.type === 'campaign_event' && f.n === ahead, WAIT)
        assert.equal(next.id, latest + 1)
        assert.equal(c.frames.filter((f) => f.type === 'campaign_event').length, 1, 'nothing replayed')
        latest = next.id
      }
      // Resuming from where the client stands replays nothing and asks for no resync.
      const now = (await live.openGuest(slug)).frames[0].last_event_id as number
      const upToDate = await live.openGuest(slug, `&since=${now}`)
      await answersPing(upToDate)
      assert.deepEqual(
        upToDate.frames.filter((f) => f.type === 'campaign_event' || f.type === 'resync_required'),
        [],
      )
      // A malformed id is refused before the upgrade.
      for (const since of ['', '-1', '1e3', '0x10', '1.5', '9999999999999999']) {
        const answer = await rawUpgrade(
          live.port,
          `/ws/${slug}/guest?token=${await live.guestToken()}&since=${since}`,
        )
        assert.equal(assertRefusal(answer, 400), 'VALIDATION_FAILED', `since=${since}`)
      }
    })

    it('takes the path’s user id percent-encoded, in Unicode, or with a trailing slash, and nothing but the token’s', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const user = await app.platform.tokens.issueUser({ userId: 'usér_qa4', roles: ['participant'] })
      for (const path of [`usér_qa4`, `us%C3%A9r_qa4`, `us%C3%A9r%5Fqa4`, `usér_qa4/`]) {
        const c = await live.open(`/ws/${slug}/${path}?token=${user.token}`)
        assert.equal(c.frames[0].user_id, 'usér_qa4', path)
      }
      // The same letters decomposed (e + combining accent), a slash, a NUL, a longer id: another user.
      for (const path of [
        'use%CC%81r_qa4',
        'us%C3%A9r_qa4%2F',
        'us%C3%A9r_qa4%00',
        `us%C3%A9r_qa4${'x'.repeat(4000)}`,
      ]) {
        const answer = await rawUpgrade(live.port, `/ws/${slug}/${path}?token=${user.token}`)
        assert.equal(assertRefusal(answer, 403), 'USER_MISMATCH', path)
      }
      // No user id at all is no endpoint.
      for (const path of [`/ws/${slug}/`, `/ws/${slug}//`, `/ws/${slug}`]) {
        assert.equal(
          assertRefusal(await rawUpgrade(live.port, `${path}?token=${user.token}`), 404),
          'NOT_FOUND',
          path,
        )
      }
    })

    it('reads a frame with a key twice by its last value, for the action and for its refusal alike', async () => {
      const c = await live.openGuest(await createCampaign(live.app))
      const ran = await ask(
        c,
        '{"type":"campaign_event","event":"content.view","request_id":"qa4_a","request_id":"qa4_b"}',
      )
      assert.equal(ran.type, 'update_ack')
      assert.equal(ran.request_id, 'qa4_b')
      assert.equal(ran.status, 'success')
      const refused = await ask(
        c,
        '{"type":"campaign_event","request_id":"qa4_c","request_id":"qa4_d","constructor":{"prototype":{"x":1}}}',
      )
      assert.equal(refused.type, 'update_ack')
      assert.equal(refused.request_id, 'qa4_d')
      assert.equal(refused.error.code, 'INVALID_JSON')
      // A frame type named like an Object.prototype member is just unknown.
      for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        assert.equal((await ask(c, { type })).code, 'UNKNOWN_FRAME_TYPE', type)
      }
      await answersPing(c)
    })
  })
}
