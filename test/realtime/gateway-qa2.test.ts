import assert from 'node:assert/strict'
import { after, before, describe, it, mock } from 'node:test'
import { sql } from 'kysely'
import type { Principal } from '../../src/platform/auth/principal.js'
import { adminHeaders, createCampaign, DIALECTS, json, sendAction } from '../helper.js'
import type { TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** A round trip answered: the socket is open and reads frames. */
async function answersPing(c: TestClient): Promise<void> {
  const from = c.frames.length
  c.send({ type: 'ping' })
  await c.next((f) => f.type === 'pong', 20_000, from)
  assert.equal(c.closed, undefined)
}

/** The first frame from `from` on (the server answers each frame once). */
async function ask(c: TestClient, frame: unknown): Promise<any> {
  const from = c.frames.length
  c.send(frame)
  return c.next(() => true, 20_000, from)
}

/** Polls without reading the clock (the test may move `Date` while it waits); ~25 s at most. */
async function until(cond: () => boolean, what: string, tries = 1000) {
  for (let i = 0; !cond(); i++) {
    if (i >= tries) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

for (const dialect of DIALECTS) {
  describe(`the /ws gateway, second QA pass (${dialect})`, () => {
    // Registered first, so it runs before the suite closes its sockets and app.
    after(() => mock.timers.reset())
    const live = realtimeSuite({ dialect })
    const tokens = () => live.app.platform.tokens
    /** Credentials whose next check waits for the promise (one check each). */
    const held = new Map<string, Promise<void>>()
    /** Every credential check that finished, in order. */
    const checked: string[] = []

    before(() => {
      // The gateway holds this object (upgrades, `auth` frames, re-checks): delay chosen checks.
      const auth = live.app.authenticator
      const resolve = auth.resolve.bind(auth)
      auth.resolve = async (credential: string): Promise<Principal> => {
        const gate = held.get(credential)
        if (gate) {
          held.delete(credential)
          await gate
        }
        try {
          return await resolve(credential)
        } finally {
          checked.push(credential)
        }
      }
    })

    const editorToken = async (userId: string) =>
      (await tokens().issueUser({ userId, roles: ['editor'] })).token

    /** The upgrade's HTTP refusal: status and error body. */
    async function refusal(path: string): Promise<{ status: number; body: any }> {
      const err = await live.open(path).then(
        () => assert.fail(`${path} was accepted`),
        (e: { status?: number; body?: string }) => e,
      )
      assert.ok(err.status, `no HTTP refusal: ${String(err)}`)
      return { status: err.status, body: JSON.parse(err.body ?? '{}') }
    }

    it('refuses visitors a socket on a draft as REST refuses their actions; editors and admins preview it', async () => {
      const { app } = live
      const draft = await createCampaign(app, { draft: true })
      const { token: guest } = await tokens().issueGuest()
      const rest = await sendAction(app, draft, guest, 'content.view', {})
      assert.equal(rest.statusCode, 409, rest.body)
      assert.equal(json(rest).error.code, 'CAMPAIGN_NOT_ACTIVE')

      const asGuest = await refusal(`/ws/${draft}/guest?token=${guest}`)
      assert.equal(asGuest.status, rest.statusCode)
      assert.equal(asGuest.body.error.code, json(rest).error.code)
      assert.deepEqual(asGuest.body.error.details, { status: 'draft' })
      // A registered participant is a visitor too.
      const participant = (await tokens().issueUser({ userId: 'pat_qa2', roles: ['participant'] })).token
      const asParticipant = await refusal(`/ws/${draft}/pat_qa2?token=${participant}`)
      assert.equal(asParticipant.status, 409)
      assert.equal(asParticipant.body.error.code, 'CAMPAIGN_NOT_ACTIVE')

      // Those REST shows the whole campaign to preview it live.
      const editor = await live.open(`/ws/${draft}/ed_qa2?token=${await editorToken('ed_qa2')}`)
      const admin = (await tokens().issueUser({ userId: 'ad_qa2', roles: ['admin'] })).token
      await answersPing(editor)
      await answersPing(await live.open(`/ws/${draft}/ad_qa2?token=${admin}`))

      // A scheduled campaign is the waiting room: visitors connect.
      const scheduled = await createCampaign(app, {
        metadata: { scheduling: { start: new Date(Date.now() + 86_400_000).toISOString() } },
      })
      await answersPing(await live.openGuest(scheduled))
    })

    it('closes visitors’ sockets, not editors’, when a campaign goes back to draft', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const visitor = await live.openGuest(slug)
      const editor = await live.open(`/ws/${slug}/ed_back?token=${await editorToken('ed_back')}`)
      const patched = await app.inject({
        method: 'PATCH',
        url: `/api/campaign/${slug}`,
        headers: adminHeaders,
        payload: { draft: true },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      const err = await visitor.next((f) => f.type === 'error', 20_000)
      assert.equal(err.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(err.details, { status: 'draft' })
      assert.deepEqual(await visitor.untilClosed(20_000), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      await answersPing(editor)
      // A new visitor is refused as the upgrade of any draft.
      assert.equal((await refusal(`/ws/${slug}/guest?token=${await live.guestToken()}`)).status, 409)
    })

    it('closes visitors’ sockets on a draft found by the periodic re-read (its bus message missed)', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const visitor = await live.openGuest(slug)
      const editor = await live.open(`/ws/${slug}/ed_reread?token=${await editorToken('ed_reread')}`)
      // Written behind the service's back: no bus message, only the gateway's re-read sees it.
      await app.platform.database.db
        .updateTable('service_campaign_main')
        .set({ draft: true, version: sql`version + 1` })
        .where('slug', '=', slug)
        .execute()
      const err = await visitor.next((f) => f.type === 'error', 30_000)
      assert.equal(err.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(err.details, { status: 'draft' })
      assert.equal((await visitor.untilClosed(20_000)).reason, 'CAMPAIGN_NOT_ACTIVE')
      await answersPing(editor)
    })

    it('answers a frame that is no JSON with INVALID_JSON, as REST answers such a body', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const { token } = await tokens().issueGuest()
      const rest = await app.inject({
        method: 'POST',
        url: `/api/${slug}/update`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: 'not json',
      })
      assert.equal(rest.statusCode, 400)
      assert.equal(json(rest).error.code, 'INVALID_JSON')
      const c = await live.open(`/ws/${slug}/guest?token=${token}`)
      for (const raw of ['not json', '{"type":"ping"', '{type:"ping"}', "{'type':'ping'}", '']) {
        const err = await ask(c, raw)
        assert.equal(err.type, 'error', raw)
        assert.equal(err.code, 'INVALID_JSON', raw)
      }
      // A prototype key is INVALID_JSON over REST too; a refused action's ack carries the code.
      const proto = await ask(c, '{"type":"cursor","x":0.5,"y":0.5,"__proto__":{"polluted":true}}')
      assert.equal(proto.code, 'INVALID_JSON')
      assert.match(proto.message, /__proto__/)
      const ack = await ask(c, '{"type":"campaign_event","request_id":"p-1","__proto__":{"a":1}}')
      assert.equal(ack.type, 'update_ack')
      assert.equal(ack.request_id, 'p-1')
      assert.equal(ack.error.code, 'INVALID_JSON')
      // JSON of the wrong shape stays VALIDATION_FAILED.
      for (const raw of ['[1,2]', '42', 'null', '"ping"', '{"x":1}']) {
        assert.equal((await ask(c, raw)).code, 'VALIDATION_FAILED', raw)
      }
      await answersPing(c)
    })

    it('keeps the newer token when an older auth frame’s check finishes after a newer one’s', async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const first = await tokens().issueGuest()
      const session = first.principal.session_id
      const c = await live.open(`/ws/${slug}/guest?token=${first.token}`)
      // Two refreshes of the session, sent in a row: the older expires in 10 minutes, the newer in 2 h.
      const older = await tokens().issueGuest({ sessionId: session, ttlSeconds: 600 })
      const newer = await tokens().issueGuest({ sessionId: session, ttlSeconds: 7200 })
      let release!: () => void
      held.set(
        older.token,
        new Promise<void>((r) => {
          release = r
        }),
      )
      const from = c.frames.length
      c.send({ type: 'auth', token: older.token })
      c.send({ type: 'auth', token: newer.token })
      const ok = await c.next((f) => f.type === 'auth_ok', 20_000, from)
      assert.equal(ok.expires_at, new Date(newer.principal.exp! * 1000).toISOString())
      release()
      await until(() => checked.includes(older.token), "the older token's check")
      // Frames are read in order: the pong comes after whatever the older check's end wrote.
      await answersPing(c)
      const answers = c.frames.slice(from).filter((f) => f.type === 'auth_ok' || f.type === 'error')
      assert.deepEqual(answers, [ok], 'the older frame is superseded: neither applied nor answered')

      // The socket lives by the newer token: past the older's expiry (not the newer's) it stays
      // open, and the re-check that comes due asks about the newer token.
      const before = checked.length
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 1200_000 })
      try {
        await until(
          () => c.closed !== undefined || checked.slice(before).includes(newer.token),
          'the sweep past the older expiry',
        )
      } finally {
        mock.timers.reset()
      }
      assert.equal(c.closed, undefined, `closed: ${JSON.stringify(c.closed)}`)
      assert.ok(!checked.slice(before).includes(older.token))
      await answersPing(c)
    })
  })
}
