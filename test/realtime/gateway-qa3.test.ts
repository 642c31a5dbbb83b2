import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, mock } from 'node:test'
import { sql } from 'kysely'
import type { Principal, Role } from '../../src/platform/auth/principal.js'
import { ADMIN_KEY, createCampaign, DIALECTS, guestLead } from '../helper.js'
import type { TestClient } from './client.js'
import { realtimeSuite } from './fixtures.js'

/** A round trip answered: the socket is open and has read (and been sent) everything before it. */
async function answersPing(c: TestClient): Promise<void> {
  const from = c.frames.length
  c.send({ type: 'ping' })
  await c.next((f) => f.type === 'pong', 20_000, from)
  assert.equal(c.closed, undefined)
}

/** Polls without reading the clock (the test moves `Date` while it waits); ~50 s at most. */
async function until(cond: () => boolean, what: string, tries = 2000) {
  for (let i = 0; !cond(); i++) {
    if (i >= tries) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const isLead = (leadId: string) => (f: any) =>
  f.type === 'campaign_event' && f.event === 'lead.created' && f.payload?.lead?.id === leadId

for (const dialect of DIALECTS) {
  describe(`the /ws gateway, third QA pass (${dialect})`, () => {
    // Registered first, so it runs before the suite closes its sockets and app.
    after(() => mock.timers.reset())
    const live = realtimeSuite({ dialect })
    /** Credentials the gateway's re-check has answered for since the test last cleared them. */
    const checked = new Set<string>()
    /** How far ahead the clock was last moved: each re-check needs a further 30 s. */
    let skipped = 0

    before(() => {
      // The gateway's sweep holds this object: watch which credentials it checked, answers unchanged.
      const auth = live.app.authenticator
      const resolve = auth.resolve.bind(auth)
      auth.resolve = async (credential: string): Promise<Principal> => {
        const p = await resolve(credential)
        checked.add(credential)
        return p
      }
    })

    /** Move the clock past the next 30 s re-check and wait until it answered for each of `credentials`. */
    async function recheck(credentials: string[]) {
      for (const c of credentials) checked.delete(c)
      skipped += 31_000
      mock.timers.enable({ apis: ['Date'], now: Date.now() + skipped })
      try {
        await until(() => credentials.every((c) => checked.has(c)), 'the re-check of every socket')
      } finally {
        mock.timers.reset()
      }
      // The sweep applies what it heard right after the answer: one more turn of the loop.
      await new Promise((r) => setTimeout(r, 25))
    }

    /** A new API key of `role` and its socket on campaign `slug`. */
    async function keySocket(slug: string, role: Role) {
      const made = await live.app.platform.apiKeys.create({
        name: `qa3_${randomBytes(3).toString('hex')}`,
        role,
      })
      const userId = (await live.app.platform.apiKeys.authenticate(made.key))!.user_id
      const socket = await live.open(`/ws/${slug}/${encodeURIComponent(userId)}?token=${made.key}`)
      return { ...made, socket }
    }

    /** An operator changes a key's role in the database (there is no route for it). */
    const setRole = (id: string, role: Role) =>
      sql`update service_security_apikey set role = ${role} where id = ${id}`.execute(
        live.app.platform.database.db,
      )

    it('refuses a binary frame with UNSUPPORTED_FRAME and keeps the socket open', async () => {
      const slug = await createCampaign(live.app)
      const c = await live.openGuest(slug)
      for (const payload of [Buffer.from('{"type":"ping"}'), Buffer.from([0xff, 0x00, 0x01])]) {
        const from = c.frames.length
        c.ws.send(payload, { binary: true })
        const err = await c.next(() => true, 20_000, from)
        assert.equal(err.type, 'error')
        assert.equal(err.code, 'UNSUPPORTED_FRAME')
        assert.match(err.message, /binary frames are not accepted; send JSON text/i)
        // The same text frame is read as ever: a binary one was refused for being binary.
        await answersPing(c)
      }
      // Text that is no JSON keeps its own code.
      const from = c.frames.length
      c.send('not json')
      assert.equal((await c.next(() => true, 20_000, from)).code, 'INVALID_JSON')
      await answersPing(c)
    })

    it("gives an open socket its API key's current roles at the 30 s re-check", async () => {
      const { app } = live
      const slug = await createCampaign(app)
      const control = await live.open(
        `/ws/${slug}/${encodeURIComponent((await app.platform.apiKeys.authenticate(ADMIN_KEY))!.user_id)}?token=${ADMIN_KEY}`,
      )
      const demoted = await keySocket(slug, 'admin')
      const promoted = await keySocket(slug, 'editor')

      // Before: the admin key's socket gets the admin-only lead event, the editor key's does not.
      const first = await guestLead(app, slug, { name: 'Ada Lovelace', message: 'We need 40 stands' })
      await control.next(isLead(first))
      await demoted.socket.next(isLead(first))
      await answersPing(promoted.socket)
      assert.equal(promoted.socket.frames.some(isLead(first)), false)

      await setRole(demoted.id, 'editor')
      await setRole(promoted.id, 'admin')
      await recheck([ADMIN_KEY, demoted.key, promoted.key])

      const second = await guestLead(app, slug, { name: 'Ada Lovelace', message: 'We need 40 stands' })
      await control.next(isLead(second))
      await promoted.socket.next(isLead(second))
      // Delivered to every target at once: a ping answered after it shows the demoted socket got none.
      await answersPing(demoted.socket)
      assert.equal(
        demoted.socket.frames.some(isLead(second)),
        false,
        'a demoted key no longer gets admin frames',
      )
    })

    it("closes a demoted editor's socket on a draft campaign, as its upgrade would now be refused", async () => {
      const { app } = live
      const slug = await createCampaign(app, { draft: true })
      const editor = await keySocket(slug, 'editor')
      const other = await keySocket(slug, 'editor')

      await setRole(editor.id, 'participant')
      await recheck([editor.key, other.key])

      // The room's campaign re-read (every few seconds) closes what the campaign no longer takes.
      assert.deepEqual(await editor.socket.untilClosed(20_000), { code: 1000, reason: 'CAMPAIGN_NOT_ACTIVE' })
      const err = editor.socket.frames.find((f) => f.type === 'error')
      assert.equal(err?.code, 'CAMPAIGN_NOT_ACTIVE')
      assert.deepEqual(err?.details, { status: 'draft' })
      await answersPing(other.socket)
    })
  })
}
