// The SDK against the real server on a real port: the gateway's frames (presence, cursor ids,
// update_ack, lead notifications) and the typed REST calls of the leads and referral modules.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { ADMIN_KEY, buildTestApp, createCampaign, DIALECTS, type TestContext } from '../test/helper.js'
import {
  createClient,
  type FrameMap,
  type OvasabiClient,
  OvasabiError,
  type RealtimeConnection,
  type WebSocketCtor,
} from './index.js'

/** Resolves with the first frame of `type` that satisfies `pred` (generous timeout, no timing asserts). */
function next<K extends keyof FrameMap>(
  conn: RealtimeConnection,
  type: K,
  pred: (f: FrameMap[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<FrameMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no ${type} frame matching in ${timeoutMs} ms`))
    }, timeoutMs)
    const off = conn.on(type, ((f: FrameMap[K]) => {
      if (!pred(f)) return
      clearTimeout(timer)
      off()
      resolve(f)
    }) as never)
  })
}

for (const dialect of DIALECTS) {
  describe(`client SDK against the real gateway (${dialect})`, () => {
    let ctx: TestContext
    let baseUrl: string
    const open: RealtimeConnection[] = []
    const guest = async (): Promise<OvasabiClient> => {
      const c = createClient({ baseUrl, WebSocket: WebSocket as unknown as WebSocketCtor })
      await c.createSession()
      return c
    }
    const connect = (c: OvasabiClient, slug: string, userId?: string) => {
      const conn = c.connect(slug, { frequency: 20, userId })
      open.push(conn)
      return conn
    }

    before(async () => {
      ctx = await buildTestApp({ dialect })
      baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
    })
    after(async () => {
      for (const c of open) c.close()
      await ctx.close()
    })

    test('two guests: active count 2, each sees the other’s cursor under its cursor_id', async () => {
      const slug = await createCampaign(ctx.app, { metadata: { scheduling: { frequency: 20 } } })
      const a = connect(await guest(), slug)
      const ca = await next(a, 'connected')
      const b = connect(await guest(), slug)
      const cb = await next(b, 'connected')
      assert.notEqual(ca.cursor_id, cb.cursor_id)
      await next(a, 'presence_update', (f) => f.active_users === 2)

      const seen = next(b, 'presence_update', (f) => f.cursors.some(([id]) => id === ca.cursor_id))
      a.sendCursor(0.25, 0.75)
      const frame = await seen
      const cursor = frame.cursors.find(([id]) => id === ca.cursor_id)!
      assert.deepEqual(cursor.slice(1), [0.25, 0.75])

      const gone = next(b, 'presence_update', (f) => f.left.includes(ca.cursor_id))
      a.close()
      await gone
    })

    test('an action over the socket resolves with its update_ack; a bad payload rejects with the field', async () => {
      const slug = await createCampaign(ctx.app)
      const c = await guest()
      const conn = connect(c, slug)
      await next(conn, 'connected')
      const ack = await conn.dispatch('quote.submit', { name: 'Ada', email: `ada.${Date.now()}@example.org` })
      assert.equal(ack.status, 'success')
      assert.equal(typeof (ack.result as { lead_id?: unknown }).lead_id, 'string')

      const err = await conn.dispatch('quote.submit', { name: 'Ada', email: 'nope' }).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof OvasabiError)
      assert.equal(err.code, 'VALIDATION_FAILED')
      assert.ok(err.fieldErrors().email, 'the email field is named')
    })

    test('a lead submitted over REST is listed for the admin, and its status change notifies the submitter', async () => {
      const slug = await createCampaign(ctx.app)
      const visitor = await guest()
      const conn = connect(visitor, slug)
      await next(conn, 'connected')
      const email = `grace.${Date.now()}@example.org`
      const submitted = await visitor.quotes.submit({ campaign: slug, name: 'Grace', email, company: 'Navy' })
      assert.equal(submitted.result.status, 'new')

      const admin = createClient({ baseUrl, apiKey: ADMIN_KEY })
      const list = await admin.leads.list(slug, { q: 'Grace' })
      const lead = list.leads.find((l) => l.id === submitted.result.lead_id)
      assert.ok(lead, 'the lead is listed')
      assert.equal(lead.email, email)

      const notified = next(conn, 'notification', (f) => f.lead_id === lead.id && f.status === 'contacted')
      const moved = await admin.leads.setStatus(slug, lead.id, 'contacted')
      assert.equal(moved.status, 'contacted')
      await notified
      assert.match(await admin.leads.csv(slug), /Grace/)
    })

    test('joining through a referral code announces the referrer’s milestone to the campaign', async () => {
      const slug = await createCampaign(ctx.app)
      const ada = await guest()
      const joined = await ada.users.register({
        campaign: slug,
        name: 'Ada',
        email: `ada.${Date.now()}@example.org`,
      })
      assert.ok(joined.user.referral_code)
      const watcher = connect(await guest(), slug)
      await next(watcher, 'connected')
      const milestone = next(watcher, 'campaign_event', (f) => f.event === 'referral.milestone')

      const charles = await guest()
      const r = await charles.users.register({
        campaign: slug,
        name: 'Charles',
        email: `charles.${Date.now()}@example.org`,
        referral_code: joined.user.referral_code,
      })
      assert.equal(r.referral?.status, 'qualified')
      const f = await milestone
      assert.equal((f.payload as { message?: string }).message, 'Ada now has 1 referral')
      const board = await ada.referrals.leaderboard(slug)
      assert.deepEqual(
        board.entries.map((e) => [e.display_name, e.referrals]),
        [['Ada', 1]],
      )
    })
  })
}
