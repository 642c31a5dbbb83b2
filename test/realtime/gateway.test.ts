import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { adminHeaders, createCampaign, DIALECTS } from '../helper.js'
import { connect, metric, type TestClient, waitUntil } from './client.js'
import { realtimeSuite } from './fixtures.js'

for (const dialect of DIALECTS) {
  describe(`realtime gateway (${dialect})`, () => {
    const live = realtimeSuite({ dialect, env: { WS_PRESENCE_LEAVE_MS: '300', WS_MAX_PAYLOAD: '4096' } })
    const guest = async () => live.app.platform.tokens.issueGuest()
    const { open } = live

    it('sends connected first, with the session and the count', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const { token, principal } = await guest()
      const c = await open(`/ws/${slug}/guest?token=${token}`)
      const first = c.frames[0]
      assert.equal(first.type, 'connected')
      assert.equal(first.session_id, principal.session_id)
      assert.equal(first.campaign, slug)
      assert.equal(first.active_users, 1)
      assert.ok(Date.parse(first.server_time) > 0)
    })

    it('accepts the token as a subprotocol and as a cookie', async () => {
      const slug = await createCampaign(live.app)
      const a = await guest()
      const viaProtocol = await open(`/ws/${slug}/guest`, { protocols: ['ovasabi', a.token] })
      assert.equal(viaProtocol.ws.protocol, 'ovasabi')
      const b = await guest()
      const viaCookie = await open(`/ws/${slug}/guest`, { headers: { cookie: `ovasabi_token=${b.token}` } })
      assert.equal(viaCookie.frames[0].session_id, b.principal.session_id)
    })

    it('refuses forged user ids, missing tokens, unknown and ended campaigns before the upgrade', async () => {
      const slug = await createCampaign(live.app)
      const user = await live.app.platform.tokens.issueUser({ userId: 'user_alice', roles: ['participant'] })
      const g = await guest()
      const refused = async (path: string, status: number, code: string) => {
        const err: any = await connect(`${live.url}${path}`).then(
          () => assert.fail(`${path} should be refused`),
          (e) => e,
        )
        assert.equal(err.status, status, path)
        assert.equal(JSON.parse(err.body).error.code, code, path)
      }
      await refused(`/ws/${slug}/user_bob?token=${user.token}`, 403, 'USER_MISMATCH')
      await refused(`/ws/${slug}/user_alice?token=${g.token}`, 403, 'USER_MISMATCH')
      await refused(`/ws/${slug}/guest?token=${user.token}`, 403, 'USER_MISMATCH')
      await refused(`/ws/${slug}/guest`, 401, 'UNAUTHORIZED')
      await refused(`/ws/${slug}/guest?token=not.a.jwt`, 401, 'INVALID_TOKEN')
      await refused(`/ws/no_such_campaign/guest?token=${g.token}`, 404, 'CAMPAIGN_NOT_FOUND')
      const ended = await createCampaign(live.app, {
        metadata: { scheduling: { start: '2020-01-01T00:00:00Z', end: '2020-02-01T00:00:00Z' } },
      })
      await refused(`/ws/${ended}/guest?token=${g.token}`, 409, 'CAMPAIGN_NOT_ACTIVE')
      // The real user on their own path is accepted.
      const ok = await open(`/ws/${slug}/user_alice?token=${user.token}`)
      assert.equal(ok.frames[0].user_id, 'user_alice')
      assert.ok((await metric(live.app, 'ovasabi_ws_upgrades_refused_total', 'code="USER_MISMATCH"')) >= 3)
    })

    it('delivers a cursor from A to B within two ticks, and A leaving', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 10 } } })
      const a = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      const b = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      const aId = a.frames[0].cursor_id
      // B's first presence frame is its snapshot; measure ticks from there.
      const start = await b.next((f) => f.type === 'presence_update')
      a.send({ type: 'cursor', x: 0.25, y: 0.75 })
      const got = await b.next(
        (f) => f.type === 'presence_update' && f.cursors.some((c: any) => c[0] === aId),
        5000,
      )
      assert.deepEqual(
        got.cursors.find((c: any) => c[0] === aId),
        [aId, 0.25, 0.75],
      )
      assert.ok(got.tick - start.tick <= 3, `arrived ${got.tick - start.tick} ticks later`)
      assert.equal(got.active_users, 2)
      a.close()
      const left = await b.next((f) => f.type === 'presence_update' && f.left.includes(aId))
      assert.ok(left)
      await b.next((f) => f.type === 'presence_update' && f.active_users === 1, 5000)
    })

    it('counts a user with three tabs once and debounces leaves', async () => {
      const slug = await createCampaign(live.app, { metadata: { scheduling: { frequency: 20 } } })
      const u = await live.app.platform.tokens.issueUser({ userId: 'user_tabs', roles: ['participant'] })
      const watcher = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      const tabs = [
        await open(`/ws/${slug}/user_tabs?token=${u.token}`),
        await open(`/ws/${slug}/user_tabs?token=${u.token}`),
        await open(`/ws/${slug}/user_tabs?token=${u.token}`),
      ]
      assert.equal(tabs[2]!.frames[0].active_users, 2)
      // Count-only changes are coalesced to one frame a second: check what the watcher last saw.
      const latest = () =>
        [...watcher.frames].reverse().find((f) => f.type === 'presence_update')?.active_users
      await waitUntil(() => latest() === 2, 5000, 'count 2')
      // Closing two of three tabs changes nothing; closing the last one does, after the debounce.
      tabs[0]!.close()
      tabs[1]!.close()
      const third = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      assert.equal(third.frames[0].active_users, 3)
      await waitUntil(() => latest() === 3, 5000, 'count 3')
      tabs[2]!.close()
      await waitUntil(() => latest() === 2, 5000, 'count back to 2')
      // A reconnect within the debounce does not flicker the count.
      const v = await live.app.platform.tokens.issueUser({ userId: 'user_flap', roles: ['participant'] })
      const flap = await open(`/ws/${slug}/user_flap?token=${v.token}`)
      await waitUntil(() => latest() === 3, 5000, 'count 3 with user_flap')
      const from = watcher.frames.length
      flap.close()
      await open(`/ws/${slug}/user_flap?token=${v.token}`)
      third.close()
      await waitUntil(() => latest() === 2, 5000, 'count 2 after the flap')
      await new Promise((r) => setTimeout(r, 1500)) // past debounce and coalescing: a flicker would show now
      const seen = watcher.frames
        .slice(from)
        .filter((f) => f.type === 'presence_update')
        .map((f) => f.active_users)
      assert.ok(!seen.includes(1), `count flickered: ${seen}`)
      assert.equal(latest(), 2)
    })

    it('rejects bad cursor values with VALIDATION_FAILED and keeps the socket', async () => {
      const slug = await createCampaign(live.app)
      const c = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      for (const bad of [
        { type: 'cursor', x: 1.5, y: 0 },
        { type: 'cursor', x: -0.1, y: 0.5 },
        { type: 'cursor', x: '0.5', y: 0.5 },
        { type: 'cursor', x: 0.5 },
      ]) {
        const from = c.frames.length
        c.send(bad)
        const err = await c.next((f) => f.type === 'error', 5000, from)
        assert.equal(err.code, 'VALIDATION_FAILED', JSON.stringify(bad))
      }
      let from = c.frames.length
      c.send('not json')
      assert.equal((await c.next((f) => f.type === 'error', 5000, from)).code, 'INVALID_JSON')
      // A prototype key is refused as over HTTP, not copied into the frame's objects.
      from = c.frames.length
      c.send('{"type":"cursor","x":0.5,"y":0.5,"__proto__":{"polluted":true}}')
      const proto = await c.next((f) => f.type === 'error', 5000, from)
      assert.equal(proto.code, 'INVALID_JSON')
      assert.match(proto.message, /__proto__/)
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      from = c.frames.length
      c.send({ type: 'nope' })
      assert.equal((await c.next((f) => f.type === 'error', 5000, from)).code, 'UNKNOWN_FRAME_TYPE')
      c.send({ type: 'ping', ts: 42 })
      const pong = await c.next((f) => f.type === 'pong')
      assert.equal(pong.ts, 42)
      assert.equal(c.closed, undefined)
    })

    it('refuses cursors when the presence feature is off', async () => {
      const slug = await createCampaign(live.app, { features: ['analytics'] })
      const c = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      c.send({ type: 'cursor', x: 0.5, y: 0.5 })
      assert.equal((await c.next((f) => f.type === 'error')).code, 'FEATURE_DISABLED')
    })

    it('closes with 1009 on an oversized frame', async () => {
      const slug = await createCampaign(live.app)
      const c = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      c.send({ type: 'ping', pad: 'x'.repeat(8000) })
      assert.equal((await c.untilClosed()).code, 1009)
      await waitUntil(async () => (await metric(live.app, 'ovasabi_ws_closes_total', 'code="1009"')) >= 1)
    })

    it('drops a flood and then closes it with 1008', async () => {
      const slug = await createCampaign(live.app)
      const c = await open(`/ws/${slug}/guest?token=${(await guest()).token}`)
      for (let i = 0; i < 2000 && !c.closed; i++) c.send({ type: 'cursor', x: 0.1, y: 0.1 })
      assert.equal((await c.untilClosed()).code, 1008)
      assert.ok(
        (await metric(live.app, 'ovasabi_ws_frames_dropped_total', 'reason="inbound_rate_limited"')) > 0,
      )
    })

    it('dispatches campaign_event through Nexus and answers with update_ack; REST acks reach sockets', async () => {
      const slug = await createCampaign(live.app)
      const g = await guest()
      const c = await open(`/ws/${slug}/guest?token=${g.token}`)
      c.send({
        type: 'campaign_event',
        event: 'content.view',
        payload: { page: '/' },
        request_id: 'req_ws_1',
      })
      const ack = await c.next((f) => f.type === 'update_ack' && f.request_id === 'req_ws_1')
      assert.equal(ack.status, 'success')
      assert.equal(ack.result.recorded, true)
      c.send({
        type: 'campaign_event',
        event: 'content.view',
        user: { user_id: 'user_evil' },
        request_id: 'r2',
      })
      const refused = await c.next((f) => f.type === 'update_ack' && f.request_id === 'r2')
      assert.equal(refused.status, 'error')
      assert.equal(refused.error.code, 'USER_MISMATCH')
      const rest = await live.app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${g.token}` },
        payload: { action: 'page.view', data: {}, request_id: 'req_rest_1' },
      })
      assert.equal(rest.statusCode, 200)
      const restAck = await c.next((f) => f.type === 'update_ack' && f.request_id === 'req_rest_1')
      assert.equal(restAck.status, 'success')
    })

    it('refreshes the token in-band and closes on expiry', async () => {
      const slug = await createCampaign(live.app)
      const short = await live.app.platform.tokens.issueGuest({ ttlSeconds: 2 })
      const c = await open(`/ws/${slug}/guest?token=${short.token}`)
      const other = await live.app.platform.tokens.issueGuest()
      c.send({ type: 'auth', token: other.token })
      assert.equal((await c.next((f) => f.type === 'error')).code, 'USER_MISMATCH')
      const fresh = await live.app.platform.tokens.issueGuest({ sessionId: short.principal.session_id })
      c.send({ type: 'auth', token: fresh.token })
      const ok = await c.next((f) => f.type === 'auth_ok')
      assert.ok(Date.parse(ok.expires_at) > Date.now() + 60_000)
      const expiring = await open(`/ws/${slug}/guest?token=${short.token}`)
      const closed = await expiring.untilClosed(8000)
      assert.equal(closed.code, 1008)
      assert.equal(closed.reason, 'TOKEN_EXPIRED')
      assert.equal(c.closed, undefined)
    })

    it('delivers published frames to the campaign, one user, one session and admins', async () => {
      const slug = await createCampaign(live.app)
      const g = await guest()
      const user = await live.app.platform.tokens.issueUser({ userId: 'user_pub', roles: ['participant'] })
      const admin = await live.app.platform.tokens.issueUser({ userId: 'user_admin', roles: ['admin'] })
      const cg = await open(`/ws/${slug}/guest?token=${g.token}`)
      const cu = await open(`/ws/${slug}/user_pub?token=${user.token}`)
      const ca = await open(`/ws/${slug}/user_admin?token=${admin.token}`)
      const pub = (live.app as any).realtimePublisher ?? undefined
      assert.equal(pub, undefined)
      const publish = async (audience: any, frame: any) =>
        (await import('../../src/realtime/publish.js'))
          .createBusPublisher(live.app.platform.bus)
          .publish(audience, frame)
      await publish({ scope: 'user', user_id: 'user_pub' }, { type: 'notification', n: 1 })
      await publish(
        { scope: 'session', campaign: slug, session_id: g.principal.session_id },
        { type: 'notification', n: 2 },
      )
      await publish({ scope: 'role', campaign: slug, role: 'admin' }, { type: 'notification', n: 3 })
      await publish({ scope: 'campaign', campaign: slug }, { type: 'stats_update', n: 4 })
      await cu.next((f) => f.n === 1)
      await cg.next((f) => f.n === 2)
      await ca.next((f) => f.n === 3)
      for (const c of [cg, cu, ca]) await c.next((f) => f.type === 'stats_update' && f.n === 4)
      const count = (c: TestClient, n: number) => c.frames.filter((f) => f.n === n).length
      assert.deepEqual(
        [count(cg, 1), count(cu, 2), count(ca, 2), count(cg, 3), count(cu, 3)],
        [0, 0, 0, 0, 0],
      )
      assert.equal(count(cu, 1), 1)
    })

    it('answers a plain GET with what the upgrade would get: 401 without a token, 426 once admitted', async () => {
      const refused = await live.app.inject({ method: 'GET', url: '/ws/x/guest' })
      assert.equal(refused.statusCode, 401)
      assert.equal(JSON.parse(refused.body).error.code, 'UNAUTHORIZED')
      const slug = await createCampaign(live.app)
      const res = await live.app.inject({
        method: 'GET',
        url: `/ws/${slug}/guest?token=${await live.guestToken()}`,
      })
      assert.equal(res.statusCode, 426)
      assert.equal(JSON.parse(res.body).error.code, 'UPGRADE_REQUIRED')
      const m = await live.app.inject({ method: 'GET', url: '/api/amadeus/graph', headers: adminHeaders })
      assert.ok(m.body.includes('realtime'))
    })
  })
}
