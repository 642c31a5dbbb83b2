import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import sharp from 'sharp'
import { DIALECTS, guestToken, json } from './helper.js'
import { mediaSuite, uploadTicket } from './media-fixtures.js'

// Small numbers, so a few upload URLs reach them: each URL may bring up to PER_FILE bytes.
const USER_QUOTA = 100_000
const PER_FILE = 40_000

for (const dialect of DIALECTS) {
  describe(`media QA 28, one quota for a person who joined mid-way (${dialect})`, () => {
    const suite = mediaSuite(dialect, {
      env: { MEDIA_USER_QUOTA_BYTES: String(USER_QUOTA), MEDIA_CAMPAIGN_QUOTA_BYTES: '10000000' },
      campaign: { metadata: { custom_rules: { media_max_bytes: PER_FILE } } },
    })

    const ticket = (authorization: string, size?: number) =>
      uploadTicket(
        suite.app,
        suite.slug,
        { authorization },
        { filename: 'a.png', content_type: 'image/png', size },
      )
    const granted = async (authorization: string, size?: number) => {
      const t = await ticket(authorization, size)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return t.body.result as { media_id: string; max_bytes: number }
    }
    const remove = (authorization: string, id: string) =>
      suite.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${suite.slug}/media/${id}`,
        headers: { authorization },
      })

    /** A guest who holds 80,000 bytes of upload URLs, then joins from that session. */
    async function guestWhoJoins() {
      const guest = `Bearer ${(await guestToken(suite.app)).token}`
      const uploads = [await granted(guest), await granted(guest)]
      const email = `qa28.${Date.now()}.${Math.random().toString(36).slice(2)}@example.org`
      const password = 'correct horse battery staple'
      const joined = await suite.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: guest },
        payload: { campaign: suite.slug, name: 'Mid', email, password },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      return { guest, member: `Bearer ${json(joined).token}`, uploads, email, password }
    }

    it('counts what a guest reserved against them once they join: no fresh budget, nothing twice', async () => {
      const { member, uploads } = await guestWhoJoins()
      // 20,000 bytes are left of the person's quota, not a fresh 100,000.
      assert.equal((await granted(member)).max_bytes, USER_QUOTA - 2 * PER_FILE)
      const full = await ticket(member)
      assert.equal(full.status, 413, JSON.stringify(full.body))
      assert.equal(full.body.error.details.quota, 'uploader')
      // Each byte once: 80,000 as a guest and 20,000 since.
      assert.equal(full.body.error.details.used_bytes, USER_QUOTA)
      // Deleting a guest upload frees its room for the person.
      assert.equal((await remove(member, uploads[0]!.media_id)).statusCode, 204)
      assert.equal((await granted(member)).max_bytes, PER_FILE)
    })

    it('keeps one budget when the person logs in on another device', async () => {
      const { email, password, uploads } = await guestWhoJoins()
      const elsewhere = `Bearer ${(await guestToken(suite.app)).token}`
      const login = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { authorization: elsewhere },
        payload: { email, password, campaign: suite.slug },
      })
      assert.equal(login.statusCode, 200, login.body)
      const there = `Bearer ${json(login).token}`
      assert.equal((await granted(there)).max_bytes, USER_QUOTA - 2 * PER_FILE)
      assert.equal((await ticket(there)).status, 413)
      // What counts against them there is theirs there: they read it back and may delete it.
      const id = uploads[0]!.media_id
      const own = await suite.app.inject({
        method: 'GET',
        url: `/api/media/${id}`,
        headers: { authorization: there },
      })
      assert.equal(own.statusCode, 200, own.body)
      assert.equal((await remove(there, id)).statusCode, 204)
      assert.equal((await granted(there)).max_bytes, PER_FILE)
    })

    it("counts a person's guest uploads when an upload's thumbnail needs more room than its URL held", async () => {
      const png = await sharp(randomBytes(64 * 64 * 3), { raw: { width: 64, height: 64, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
      const guest = `Bearer ${(await guestToken(suite.app)).token}`
      // As a guest: all of the quota but room for the file and 10 bytes.
      await granted(guest)
      await granted(guest)
      await granted(guest, USER_QUOTA - 2 * PER_FILE - png.length - 10)
      const email = `qa28.thumb.${Date.now()}@example.org`
      const password = 'correct horse battery staple'
      const joined = await suite.app.inject({
        method: 'POST',
        url: '/api/user/register',
        headers: { authorization: guest },
        payload: { campaign: suite.slug, name: 'Thumb', email, password },
      })
      assert.equal(joined.statusCode, 201, joined.body)
      // On another device, where the upload's own session holds none of those bytes.
      const login = await suite.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { authorization: `Bearer ${(await guestToken(suite.app)).token}` },
        payload: { email, password, campaign: suite.slug },
      })
      assert.equal(login.statusCode, 200, login.body)
      const t = await ticket(`Bearer ${json(login).token}`, png.length)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      const put = await fetch(suite.base + t.body.result.upload_url, {
        method: 'PUT',
        body: new Uint8Array(png),
      })
      const answer = await put.json()
      assert.equal(put.status, 413, JSON.stringify(answer))
      assert.equal(answer.error.code, 'STORAGE_QUOTA_EXCEEDED')
      assert.equal(answer.error.details.used_bytes, USER_QUOTA - png.length - 10)
    })

    it('leaves another guest and another person their own budgets', async () => {
      await guestWhoJoins()
      const stranger = `Bearer ${(await guestToken(suite.app)).token}`
      assert.equal((await granted(stranger)).max_bytes, PER_FILE)
      const { member } = await guestWhoJoins()
      assert.equal((await granted(member)).max_bytes, USER_QUOTA - 2 * PER_FILE)
    })
  })
}
